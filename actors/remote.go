package actors

import (
	"fmt"
	"net"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	_ "github.com/troupe-dev/troupe/actors/wire" // registers the wire messages for remote decoding
)

// RemoteConfig turns on Proto.Actor remote, so that the engine's actors
// can talk to those of other nodes (Config.Remote).
type RemoteConfig struct {
	// Host and Port to bind; port 0 picks a free one (Engine.Address
	// tells which). Default host: 127.0.0.1.
	Host string
	Port int
	// AdvertisedHost is the "host:port" other nodes reach this one at,
	// when it differs from the bound address (NAT, containers).
	AdvertisedHost string
	// MaxFrameBytes is the largest gRPC message the node accepts. A
	// frame above the limit kills the connection and silently drops
	// what was queued on it (NOTES-deps.md), so it is raised well above
	// what a sender ever puts in one frame (see BatchBytes). Default 64
	// MiB.
	MaxFrameBytes int
	// BatchBytes caps the encoded records of one wire message: a larger
	// batch crosses in several fragments, reassembled by the receiver
	// into one batch. Proto.Actor's endpoint writer puts up to
	// MaxFrameBytes / (4 × BatchBytes) messages in one frame, so a frame
	// stays below a quarter of the limit. Default 256 KiB.
	BatchBytes int
}

const (
	defaultMaxFrameBytes = 64 << 20
	defaultBatchBytes    = 256 << 10
	// frameMargin: a frame holds at most 1/frameMargin of MaxFrameBytes
	// of fragments.
	frameMargin = 4
)

func (c *RemoteConfig) validate() error {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = defaultMaxFrameBytes
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = defaultBatchBytes
	}
	switch {
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("%w: Remote.Port %d out of range", ErrConfig, c.Port)
	case c.MaxFrameBytes < 0 || c.BatchBytes < 0:
		return fmt.Errorf("%w: Remote.MaxFrameBytes %d and BatchBytes %d must not be negative", ErrConfig, c.MaxFrameBytes, c.BatchBytes)
	case c.BatchBytes*frameMargin > c.MaxFrameBytes:
		return fmt.Errorf("%w: Remote.BatchBytes %d must be at most a quarter of MaxFrameBytes %d", ErrConfig, c.BatchBytes, c.MaxFrameBytes)
	}
	return nil
}

// fragmentCap returns the most record bytes in one wire.Batch. A nil
// config (no remote) never sends remotely; its cap is the default.
func (c *RemoteConfig) fragmentCap() int {
	if c == nil || c.BatchBytes == 0 {
		return defaultBatchBytes
	}
	return c.BatchBytes
}

// writerBatch is how many messages Proto.Actor's endpoint writer puts in
// one frame: at most 1000 (its default), and few enough that fragments
// fill at most a quarter of MaxFrameBytes.
func (c *RemoteConfig) writerBatch() int {
	return max(1, min(1000, c.MaxFrameBytes/(frameMargin*c.BatchBytes)))
}

// startRemote starts Proto.Actor remote on sys as c says. Remote's Start
// panics when it cannot listen: that is turned into an error.
func startRemote(sys *actor.ActorSystem, c *RemoteConfig) (r *remote.Remote, err error) {
	opts := []remote.ConfigOption{
		remote.WithServerOptions(grpc.MaxRecvMsgSize(c.MaxFrameBytes)),
		remote.WithDialOptions(
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(c.MaxFrameBytes), grpc.MaxCallSendMsgSize(c.MaxFrameBytes))),
		remote.WithEndpointWriterBatchSize(c.writerBatch()),
	}
	if c.AdvertisedHost != "" {
		opts = append(opts, remote.WithAdvertisedHost(c.AdvertisedHost))
	}
	rc := remote.Configure(c.Host, c.Port, opts...)
	// One connection attempt: Proto.Actor's default of five, 2 s apart,
	// holds back the news that a peer is unreachable (its watchers'
	// Terminated) for 10 s, and the stop of its endpoint writer with it;
	// messages to an unreachable peer are lost either way (delivery is
	// at most once), and a lost peer fails the jobs that used it.
	rc.MaxRetryCount = 1
	r = remote.NewRemote(sys, rc)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: start remote on %s: %v", ErrConfig, net.JoinHostPort(c.Host, fmt.Sprint(c.Port)), p)
		}
	}()
	r.Start()
	return r, nil
}

// endpointSupervisor is the name of Proto.Actor remote's actor that
// spawns (and so stops) a node's endpoint writers and watchers.
const endpointSupervisor = "EndpointSupervisor"

// stopRemote stops remote once the engine's own actors have stopped: the
// gRPC server (no more inbound connections) and the endpoint writers
// (their outbound connections close). It does not use the graceful
// Remote.Shutdown(true): that sets the endpoint manager's connection map
// to nil while a connection that just broke may still be looking an
// endpoint up in it — a data race, and a nil map dereference that can
// crash a node as it stops (protoactor-go 3c0e61ca19c9).
func stopRemote(sys *actor.ActorSystem, r *remote.Remote) {
	r.Shutdown(false)
	_ = sys.Root.StopFuture(actor.NewPID(sys.Address(), endpointSupervisor)).Wait()
}
