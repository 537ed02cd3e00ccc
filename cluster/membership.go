package cluster

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Membership is this node's membership in the cluster: one memberlist
// instance, the view of the live members it maintains, and the stream of
// their changes.
//
// Every method is safe for concurrent use. Members, Local and Addr never
// block. UpdateMeta, Leave and Close are serialised: each waits for the
// one before it, and UpdateMeta and Leave wait for their broadcast up to
// their timeout.
type Membership struct {
	name string
	log  *slog.Logger
	ml   *memberlist.Memberlist
	// keyring is memberlist's, nil without gossip keys; it has its own lock.
	keyring *memberlist.Keyring
	addr    string   // advertised gossip address, host:port
	join    []string // seeds other than this node's own address

	pump *pump
	done chan struct{} // closed by Close: the goroutines stop
	wg   sync.WaitGroup

	// mu guards view and local. It is taken inside memberlist's callbacks,
	// which run under memberlist's node lock, so it is never held while
	// calling into memberlist.
	mu       sync.Mutex
	view     view
	local    NodeMeta
	localRaw []byte

	opMu   sync.Mutex // serialises UpdateMeta, Leave and Close
	closed bool       // guarded by opMu
	left   atomic.Bool
}

// New starts a node: it binds Config.Bind, joins the cluster through
// Config.Join and starts delivering events. Seeds that do not answer are
// tried again every Timing.RejoinInterval (the node runs alone meanwhile
// if none did); New fails only for an invalid config or metadata, or when
// it cannot listen.
func New(cfg Config) (*Membership, error) {
	cfg.Timing = cfg.Timing.withDefaults()
	bind, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("node", cfg.Name)
	stdLog := newStdLogger(log)

	transport, err := listen(bind, stdLog)
	if err != nil {
		return nil, fmt.Errorf("cluster: node %q: listen on %s: %v", cfg.Name, cfg.Bind, err)
	}
	m, err := start(cfg, log, stdLog, transport)
	if err != nil {
		_ = transport.Shutdown()
		return nil, err
	}
	return m, nil
}

// start creates the memberlist on transport, then starts the goroutines
// and joins; it fails only before any goroutine of ours runs.
func start(cfg Config, log *slog.Logger, stdLog *stdlog.Logger, transport *memberlist.NetTransport) (*Membership, error) {
	ip, port, err := transport.FinalAdvertiseAddr("", 0)
	if err != nil {
		return nil, fmt.Errorf("cluster: node %q: advertise address: %v", cfg.Name, err)
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	local, raw, err := newLocalMeta(cfg, addr)
	if err != nil {
		return nil, err
	}
	m := &Membership{
		name: cfg.Name, log: log, addr: addr, join: withoutSelf(cfg.Join, addr),
		pump: newPump(log), done: make(chan struct{}),
		view: newView(), local: local, localRaw: raw,
	}
	mc := cfg.Timing.memberlistConfig()
	mc.Name, mc.Transport, mc.Logger = cfg.Name, transport, stdLog
	if len(cfg.GossipKeys) > 0 {
		// GossipVerifyIncoming and Outgoing stay true (memberlist's
		// default): nothing in the clear is sent or accepted.
		if mc.Keyring, err = memberlist.NewKeyring(cfg.GossipKeys, cfg.GossipKeys[0]); err != nil {
			return nil, fmt.Errorf("%w: GossipKeys: %v", ErrConfig, err)
		}
	}
	h := hooks{m}
	mc.Delegate, mc.Events, mc.Conflict = h, h, h
	m.keyring = mc.Keyring
	if m.ml, err = memberlist.Create(mc); err != nil {
		return nil, fmt.Errorf("cluster: node %q: start memberlist: %v", cfg.Name, err)
	}
	m.run(cfg.Timing.RejoinInterval)
	log.Info("cluster: node started", "addr", addr, "incarnation", fmt.Sprintf("%016x", local.Incarnation))
	return m, nil
}

// newLocalMeta returns the node's first metadata, encoded too: the
// caller's fields of Config.Meta and the identity New gives it.
func newLocalMeta(cfg Config, addr string) (NodeMeta, []byte, error) {
	local := cfg.Meta.clone()
	local.Name, local.GossipAddr, local.Leaving = cfg.Name, addr, false
	local.StartTime, local.Incarnation = time.Now().UnixNano(), newIncarnation()
	raw, err := local.MarshalBinary()
	if err != nil {
		return NodeMeta{}, nil, fmt.Errorf("cluster: node %q: Config.Meta: %w", cfg.Name, err)
	}
	return local, raw, nil
}

// run starts the event pump, joins the seeds and, if there are seeds,
// starts the loop that retries them. Close stops both goroutines.
func (m *Membership) run(rejoinInterval time.Duration) {
	m.wg.Add(1)
	go func() { defer m.wg.Done(); m.pump.run(m.done) }()
	if len(m.join) == 0 {
		return
	}
	pending := m.tryJoin(m.join)
	if len(pending) > 0 {
		m.log.Info("cluster: seeds did not answer; retrying", "seeds", pending)
	}
	m.wg.Add(1)
	go func() { defer m.wg.Done(); m.rejoinLoop(rejoinInterval, pending) }()
}

// newIncarnation returns a random, non-zero incarnation id.
func newIncarnation() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// withoutSelf drops the seeds that are literally this node's address:
// joining oneself contacts nobody else.
func withoutSelf(seeds []string, self string) []string {
	var out []string
	for _, s := range seeds {
		if !strings.EqualFold(s, self) {
			out = append(out, s)
		}
	}
	return out
}

// Addr returns the gossip address the node advertises, host:port: the
// address other nodes list in Config.Join.
func (m *Membership) Addr() string { return m.addr }

// Local returns this node's current metadata.
func (m *Membership) Local() NodeMeta {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.local.clone()
}

// Members returns the live members, this node included until it leaves,
// sorted by name. It reflects every event queued so far, possibly ahead of
// what the consumer of Events has received. A member whose metadata this
// node cannot decode is not listed. After Close it returns the members at
// Close.
func (m *Membership) Members() []NodeMeta {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.view.list()
}

// Events returns the stream of membership changes, in the order they
// happened, beginning with this node's own join. It has one consumer:
// events are not copied to several readers. No event is dropped while the
// node runs: events wait in an unbounded queue until read (see the package
// documentation). Close closes the channel and drops what is still
// queued.
func (m *Membership) Events() <-chan Event { return m.pump.out }

// UpdateMeta publishes new metadata: ActorAddr, HTTPAddr, Slots, Version
// and Extra are taken from meta, the rest is kept. It returns once the
// update has been gossiped to the cluster, or with an error wrapping
// ErrTimeout after timeout (positive), the update being made anyway.
func (m *Membership) UpdateMeta(meta NodeMeta, timeout time.Duration) error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if err := m.checkOp("UpdateMeta", timeout); err != nil {
		return err
	}
	next := m.Local()
	next.ActorAddr, next.HTTPAddr, next.Slots = meta.ActorAddr, meta.HTTPAddr, meta.Slots
	next.Version, next.Extra = meta.Version, meta.Extra
	if err := m.publish(next, timeout); err != nil {
		return fmt.Errorf("cluster: node %q: UpdateMeta: %w", m.name, err)
	}
	return nil
}

// checkOp refuses an operation after Close or Leave, or with a timeout
// that is not positive (memberlist would wait forever). opMu is held.
func (m *Membership) checkOp(op string, timeout time.Duration) error {
	switch {
	case m.closed:
		return fmt.Errorf("cluster: node %q: %s: %w", m.name, op, ErrClosed)
	case m.left.Load():
		return fmt.Errorf("cluster: node %q: %s: %w", m.name, op, ErrLeft)
	case timeout <= 0:
		return fmt.Errorf("cluster: node %q: %s: %w: timeout %v is not positive", m.name, op, ErrArgument, timeout)
	}
	return nil
}

// publish makes meta the local metadata and broadcasts it, waiting up to
// timeout. opMu is held.
func (m *Membership) publish(meta NodeMeta, timeout time.Duration) error {
	raw, err := meta.MarshalBinary()
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.local, m.localRaw = meta.clone(), raw
	m.mu.Unlock()
	if err := m.ml.UpdateNode(timeout); err != nil {
		return fmt.Errorf("%w: metadata broadcast within %v: %v", ErrTimeout, timeout, err)
	}
	return nil
}

// Leave leaves the cluster gracefully: it publishes NodeMeta.Leaving, then
// tells the others it is gone, so that they report EventLeave at once
// instead of EventDead after the failure detector's timeout. It returns
// once both broadcasts went out, or with an error wrapping ErrTimeout after
// timeout (positive); the node has left anyway. Others that missed the
// first broadcast report EventDead. Call Close afterwards; calling Leave
// again does nothing.
func (m *Membership) Leave(timeout time.Duration) error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if m.left.Load() && !m.closed {
		return nil
	}
	if err := m.checkOp("Leave", timeout); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	next := m.Local()
	next.Leaving = true
	intentErr := m.publish(next, timeout)
	m.left.Store(true) // stops the rejoin loop
	// memberlist waits forever for a zero timeout: never pass one.
	remaining := max(time.Until(deadline), time.Millisecond)
	if err := m.ml.Leave(remaining); err != nil {
		return fmt.Errorf("cluster: node %q: Leave: %w: leave broadcast within %v: %v", m.name, ErrTimeout, timeout, err)
	}
	if intentErr != nil {
		return fmt.Errorf("cluster: node %q: Leave: %w", m.name, intentErr)
	}
	m.log.Info("cluster: node left the cluster")
	return nil
}

// Close stops the node without a goodbye (after Leave, or to be found dead
// by the others), stops the goroutines and waits for them, and closes the
// Events channel. Memberlist's own goroutines stop on their own shortly
// after; memberlist gives no way to wait for them. A join attempt under
// way delays Close by up to Timing.TCPTimeout. Calling Close again does
// nothing.
func (m *Membership) Close() error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	// Our goroutines first, so that no join runs on a stopped memberlist.
	close(m.done)
	m.wg.Wait()
	if err := m.ml.Shutdown(); err != nil {
		return fmt.Errorf("cluster: node %q: Close: %v", m.name, err)
	}
	return nil
}

// SetGossipKeys replaces the node's gossip keys while it runs: it
// installs the keys it lacks, makes keys[0] the key it encrypts with, and
// removes the keys not in keys. Rotating a cluster's key without a gap
// takes three rounds, each done on every node before the next begins
// (the keyring tries every installed key on what it receives):
//
//  1. [old, new]: install the new key; the nodes still send with the old.
//  2. [new, old]: send with the new key, which every node can read.
//  3. [new]: remove the old key.
//
// A node started without gossip keys cannot turn encryption on (nor off)
// while it runs: that error wraps ErrConfig, as does a key of the wrong
// size, naming it.
func (m *Membership) SetGossipKeys(keys [][]byte) error {
	kr := m.keyring
	switch {
	case kr == nil:
		return fmt.Errorf("cluster: node %q: SetGossipKeys: %w: the node started without gossip keys; encryption can only be turned on at start", m.name, ErrConfig)
	case len(keys) == 0:
		return fmt.Errorf("cluster: node %q: SetGossipKeys: %w: no key; gossip cannot be turned to the clear while the node runs", m.name, ErrConfig)
	}
	if err := validateKeys(keys); err != nil {
		return fmt.Errorf("cluster: node %q: SetGossipKeys: %w", m.name, err)
	}
	for _, k := range keys {
		if err := kr.AddKey(k); err != nil {
			return fmt.Errorf("cluster: node %q: SetGossipKeys: %v", m.name, err)
		}
	}
	if err := kr.UseKey(keys[0]); err != nil {
		return fmt.Errorf("cluster: node %q: SetGossipKeys: %v", m.name, err)
	}
	for _, old := range kr.GetKeys() {
		if !slices.ContainsFunc(keys, func(k []byte) bool { return bytes.Equal(k, old) }) {
			if err := kr.RemoveKey(old); err != nil {
				return fmt.Errorf("cluster: node %q: SetGossipKeys: %v", m.name, err)
			}
		}
	}
	m.log.Info("cluster: gossip keys replaced", "keys", len(keys))
	return nil
}
