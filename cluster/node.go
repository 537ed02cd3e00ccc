package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/remote"

	"github.com/troupe-dev/troupe/actors"
)

// NodeConfig configures a node of a cluster (StartNode).
type NodeConfig struct {
	// Name is the node's name, unique in the cluster.
	Name string
	// ActorAddr is the host:port of the node's Proto.Actor remote; port 0
	// lets the OS choose. The host is what the other nodes dial.
	ActorAddr string
	// GossipAddr is the host:port memberlist binds.
	GossipAddr string
	// HTTPAddr is the REST API's address as the other nodes reach it.
	HTTPAddr string
	// Join lists the seeds' gossip addresses; empty starts a cluster.
	Join []string
	// Slots is how many subtasks the node offers to run at once.
	Slots int
	// Store is the cluster's durable store, shared by every node: the
	// checkpoints and savepoints of every run (the engine's checkpoint
	// storage), the job records. Required. The node does not close it:
	// its opener does, after the node.
	Store Store
	// Version is the node's build version, published to the others.
	Version string
	// Timing sets membership's failure detection; zero fields take
	// LANTiming's values.
	Timing Timing
	// Engine is the base configuration of the node's engine (batch size,
	// credits, restart strategy, logger, state backend directory);
	// StartNode sets its Remote and checkpoint store.
	Engine actors.Config
	// Lease sets how job masters hold their jobs in Store's job store
	// (the records that let another node take a job over when its
	// coordinator is lost); zero fields
	// take DefaultLeaseTiming's values.
	Lease LeaseTiming
	// EndedJobs sets how long the cluster keeps jobs that have ended, in
	// the job store and in the memory of the nodes that ran them; zero
	// fields take DefaultEndedJobs's values. The coordinator removes the
	// records.
	EndedJobs EndedJobs
	// Registry holds the pipelines the node can build; every node of a
	// cluster registers the same.
	Registry *actors.Registry
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
	// GossipKeys encrypt the node's gossip (Config.GossipKeys); the first
	// is the one it sends with. Empty: gossip in the clear.
	GossipKeys [][]byte
	// TLS secures the node's Proto.Actor remote with mutual TLS
	// (actors.RemoteConfig.TLS); nil: plaintext. A member that this node
	// cannot reach over remote (its certificate is not signed by the CA,
	// say) gets no subtasks from this node.
	TLS *tls.Config
}

// Node is one running node of a cluster: an engine with Proto.Actor
// remote and a task manager, a membership, and the job service that runs
// when the node coordinates. Its methods are safe for concurrent use; its
// job methods answer as the coordinator would (callers forward requests
// to the coordinator, see Coordinator).
type Node struct {
	cfg    NodeConfig
	log    *slog.Logger
	engine *actors.Engine
	tm     *actors.TaskManager
	ms     *Membership
	svc    *jobService
	reach  *reach

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// StartNode starts a node: its engine and task manager, then its
// membership (joining cfg.Join). It returns once the node can run
// subtasks; seeds that do not answer yet are retried in the background.
func StartNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: NodeConfig.Store is nil", ErrConfig)
	}
	n := &Node{cfg: cfg, log: cfg.Logger, stop: make(chan struct{})}
	if err := n.startEngine(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		_ = n.engine.Close()
		return nil, err
	}
	if err := n.startMembership(); err != nil {
		_ = n.engine.Close()
		return nil, err
	}
	if err := errors.Join(cfg.Lease.withDefaults().validate(), cfg.EndedJobs.Validate()); err != nil {
		_ = n.ms.Close()
		_ = n.engine.Close()
		return nil, err
	}
	var diagnose func(context.Context, string) error
	if cfg.TLS != nil {
		diagnose = tlsDiagnosis(cfg.TLS)
	}
	n.reach = newReach(n.engine.Address(), n.engine.ProbeTaskManager, diagnose, reachRetry, n.log, func() { n.svc.membersChanged() })
	n.svc = newJobService(n.engine, cfg.Registry, serviceConfig{members: n.placeable, coordinates: n.coordinates,
		self: cfg.Name, store: cfg.Store, timing: cfg.Lease, retention: cfg.EndedJobs, log: n.log})
	n.wg.Add(2)
	go n.watchMembers()
	go n.publishSlots()
	return n, nil
}

func (n *Node) startEngine() error {
	host, port, err := splitHostPort(n.cfg.ActorAddr)
	if err != nil {
		return fmt.Errorf("%w: actor address: %w", ErrConfig, err)
	}
	ecfg := n.cfg.Engine
	ecfg.Remote = &actors.RemoteConfig{Host: host, Port: port, TLS: n.cfg.TLS}
	if ecfg.Logger == nil {
		ecfg.Logger = n.log
	}
	ecfg.Checkpoint.Store = n.cfg.Store.Checkpoints
	if n.engine, err = actors.NewEngine(ecfg); err != nil {
		return err
	}
	if n.tm, err = n.engine.StartTaskManager(n.cfg.Registry, n.cfg.Slots); err != nil {
		_ = n.engine.Close()
		return err
	}
	return nil
}

func (n *Node) startMembership() error {
	mcfg := Config{Name: n.cfg.Name, Bind: n.cfg.GossipAddr, Join: n.cfg.Join, Logger: n.log, Timing: n.cfg.Timing,
		GossipKeys: n.cfg.GossipKeys,
		Meta:       NodeMeta{ActorAddr: n.engine.Address(), HTTPAddr: n.cfg.HTTPAddr, Slots: n.cfg.Slots, Version: n.cfg.Version}}
	ms, err := New(mcfg)
	if err != nil {
		return err
	}
	n.ms = ms
	return nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q", p)
	}
	return host, port, nil
}

// watchMembers turns membership events into what the node must do: a
// member that died or left has its remote endpoint reported terminated
// (so the masters watching agents there fail their attempts at once) and
// its slots freed; any change may admit jobs waiting for slots.
func (n *Node) watchMembers() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case ev, ok := <-n.ms.Events():
			if !ok {
				return
			}
			n.onEvent(ev)
		}
	}
}

func (n *Node) onEvent(ev Event) {
	switch ev.Type {
	case EventJoin, EventUpdate:
		n.reach.track(ev.Node)
	case EventDead, EventLeave:
		n.reach.forget(ev.Node)
		if ev.Node.ActorAddr != "" && ev.Node.ActorAddr != n.engine.Address() {
			n.engine.System().EventStream.Publish(&remote.EndpointTerminatedEvent{Address: ev.Node.ActorAddr})
		}
		n.svc.memberGone(ev.Node)
	}
	n.svc.membersChanged()
}

// placeable returns the live members whose task managers this node has
// reached over remote: the job service places subtasks only there.
func (n *Node) placeable() []NodeMeta {
	ms := n.ms.Members()
	out := ms[:0]
	for _, m := range ms {
		if n.reach.reachable(m) {
			out = append(out, m)
		}
	}
	return out
}

// slotsUsedKey is the NodeMeta.Extra key under which a node publishes how
// many of its slots its task manager is using.
const slotsUsedKey = "slots-used"

// publishSlots gossips the task manager's slots in use when they change,
// for Members.
func (n *Node) publishSlots() {
	defer n.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	last := -1
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			used := n.tm.SlotsUsed()
			if used == last {
				continue
			}
			meta := n.ms.Local()
			meta.Extra = mapWith(meta.Extra, slotsUsedKey, strconv.Itoa(used))
			if err := n.ms.UpdateMeta(meta, time.Second); err == nil {
				last = used
			}
		}
	}
}

func mapWith(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k2, v2 := range m {
		out[k2] = v2
	}
	out[k] = v
	return out
}

// ActorAddr returns the node's Proto.Actor remote address.
func (n *Node) ActorAddr() string { return n.engine.Address() }

// GossipAddr returns the address memberlist is bound to.
func (n *Node) GossipAddr() string { return n.ms.Addr() }

// Store returns the cluster's store the node uses.
func (n *Node) Store() Store { return n.cfg.Store }

// Engine returns the node's engine.
func (n *Node) Engine() *actors.Engine { return n.engine }

// TaskManager returns the node's task manager.
func (n *Node) TaskManager() *actors.TaskManager { return n.tm }

// Coordinator returns the HTTP address of the coordinating member, and
// whether it is this node; ok is false when no member is known.
func (n *Node) Coordinator() (httpAddr string, self bool, ok bool) {
	c, ok := Coordinator(n.ms.Members())
	if !ok {
		return "", false, false
	}
	local := n.ms.Local()
	return c.HTTPAddr, c.Name == local.Name && c.Incarnation == local.Incarnation, true
}

// coordinates reports whether this node coordinates now.
func (n *Node) coordinates() bool {
	_, self, ok := n.Coordinator()
	return ok && self
}

// SetGossipKeys replaces the node's gossip keys while it runs, for a
// rotation (Membership.SetGossipKeys).
func (n *Node) SetGossipKeys(keys [][]byte) error { return n.ms.SetGossipKeys(keys) }

// Leave tells the others that the node goes, waiting at most timeout.
// First it stops the jobs whose masters it runs, while the others still
// answer (their agents confirm they stopped), and hands their leases
// back (see jobService.close) — so that a job is handed over, not failed
// for the loss of nodes that are in fact fine. Then it leaves, and takes
// every other member's endpoint as terminated itself: they drop their
// connection to a node that left, so nothing would tell this node's
// actors that their remote peers are gone.
func (n *Node) Leave(timeout time.Duration) error {
	n.svc.close()
	others := n.ms.Members()
	err := n.ms.Leave(timeout)
	for _, m := range others {
		if m.ActorAddr != "" && m.ActorAddr != n.engine.Address() {
			n.engine.System().EventStream.Publish(&remote.EndpointTerminatedEvent{Address: m.ActorAddr})
		}
	}
	return err
}

// Close cancels the jobs this node coordinates, stops the membership and
// the engine, and waits for the node's goroutines. It is safe to call
// more than once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.svc.close()
		close(n.stop)
		n.wg.Wait()
		n.reach.close()
		n.closeErr = errors.Join(n.ms.Close(), n.engine.Close())
	})
	return n.closeErr
}
