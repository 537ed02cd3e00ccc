package actors

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/troupe-dev/troupe/actors/wire" // also registers the wire messages for remote decoding
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
	// TLS, when set, secures remote with mutual TLS; nil: plaintext, any
	// peer that reaches the port is trusted (the default, for loopback).
	// The same config serves both ends of every connection: the gRPC
	// server presents Certificates and accepts only clients whose
	// certificate ClientCAs verify (ClientAuth must be
	// tls.RequireAndVerifyClientCert), and the dialer presents
	// Certificates and verifies the server's certificate against RootCAs
	// and the host it dials (the host of the peer's address, so a node's
	// certificate must name the host of its own address: an IP SAN or a
	// DNS SAN). A peer without a certificate the CAs signed cannot
	// exchange a single message with this node, nor this node with it.
	TLS *tls.Config
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
	return validateTLS(c.TLS)
}

// validateTLS insists on mutual authentication: a TLS config that lets an
// unauthenticated peer in (no client certificates asked, or the system's
// roots trusted for peers) would look secure and not be.
func validateTLS(t *tls.Config) error {
	switch {
	case t == nil:
		return nil
	case len(t.Certificates) == 0 && t.GetCertificate == nil:
		return fmt.Errorf("%w: Remote.TLS has no certificate (Certificates or GetCertificate)", ErrConfig)
	case t.RootCAs == nil:
		return fmt.Errorf("%w: Remote.TLS.RootCAs is nil: give the CA that signs the nodes' certificates", ErrConfig)
	case t.ClientCAs == nil:
		return fmt.Errorf("%w: Remote.TLS.ClientCAs is nil: give the CA that signs the nodes' certificates", ErrConfig)
	case t.ClientAuth != tls.RequireAndVerifyClientCert:
		return fmt.Errorf("%w: Remote.TLS.ClientAuth is %v, want RequireAndVerifyClientCert (mutual TLS)", ErrConfig, t.ClientAuth)
	case t.InsecureSkipVerify:
		return fmt.Errorf("%w: Remote.TLS.InsecureSkipVerify is set: peers would not be verified", ErrConfig)
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
	serverOpts := []grpc.ServerOption{grpc.MaxRecvMsgSize(c.MaxFrameBytes), grpc.UnaryInterceptor(refuseUnary)}
	creds := insecure.NewCredentials()
	if c.TLS != nil {
		// gRPC clones the config for each connection and sets the server
		// name to the dialed host when it is empty.
		creds = credentials.NewTLS(c.TLS)
		serverOpts = append(serverOpts, grpc.Creds(creds))
	}
	opts := []remote.ConfigOption{
		remote.WithServerOptions(serverOpts...),
		remote.WithDialOptions(
			grpc.WithTransportCredentials(creds),
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

// refuseUnary answers every unary call Unimplemented without calling its
// handler. Nodes talk over Proto.Actor's message stream only; its unary
// calls (ListProcesses, GetProcessDiagnostics) panic in this version, and
// a panic in a gRPC handler ends the process, so any peer that reached
// the port could stop the node.
func refuseUnary(_ context.Context, _ any, info *grpc.UnaryServerInfo, _ grpc.UnaryHandler) (any, error) {
	return nil, status.Errorf(codes.Unimplemented, "troupe: %s is not served", info.FullMethod)
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

// defaultProbeTimeout bounds ProbeTaskManager when its context has no
// deadline.
const defaultProbeTimeout = 5 * time.Second

// ProbeTaskManager asks the task manager of the node at actorAddr for its
// status over remote and returns nil once it answered: the two nodes can
// exchange messages both ways (with Remote.TLS, each has accepted the
// other's certificate). It returns an error naming the address when no
// answer came before ctx is done (or within 5 s without a deadline); a
// peer whose TLS handshake fails takes about 2 s to be given up by
// Proto.Actor's endpoint writer.
func (e *Engine) ProbeTaskManager(ctx context.Context, actorAddr string) error {
	timeout := defaultProbeTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if timeout <= 0 {
		return fmt.Errorf("actors: probe the task manager at %s: %w", actorAddr, context.DeadlineExceeded)
	}
	res, err := e.sys.Root.RequestFuture(TaskManagerPID(actorAddr), &wire.TaskManagerStatusRequest{}, timeout).Result()
	if err != nil {
		return fmt.Errorf("actors: the task manager at %s did not answer over remote: %w", actorAddr, err)
	}
	if _, ok := res.(*wire.TaskManagerStatus); !ok {
		return fmt.Errorf("actors: the task manager at %s answered %T, not its status", actorAddr, res)
	}
	return nil
}
