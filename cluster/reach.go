package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// reach tracks which members this node has exchanged a message with over
// the data plane (Proto.Actor remote): it asks each member's task manager
// for its status, and only a member that answered gets subtasks from this
// node's job service. Gossip and the data plane are separate: a member
// whose remote cannot be reached — with TLS, a certificate not signed by
// our CA, or ours not by its; a --bind address the others cannot dial; a
// firewall — is still listed by Members, but no job is placed on it, and
// a warning says why, instead of every attempt placed there failing.
//
// A member is probed when it joins and again until it answers, at
// intervals that double from the retry interval up to 16 times it (each
// failed probe costs a connection attempt and an error in Proto.Actor's
// log); once it has answered, it stays reachable for its incarnation (a
// connection that breaks later fails the jobs there through the masters'
// watches, and memberlist finds a node that died). Each probe runs on a
// goroutine of its own, owned by reach: close stops the retries and waits
// for the probes under way.
type reach struct {
	self    string // this node's actor address: reachable without a probe
	probe   func(ctx context.Context, actorAddr string) error
	timeout time.Duration // of one probe
	retry   time.Duration
	log     *slog.Logger
	// changed is called, from a probe's goroutine and without reach's
	// lock, when a member has become reachable.
	changed func()
	// diagnose, if set, tells why a member does not answer, for the
	// warning: Proto.Actor's own log has the cause, ours would not.
	diagnose func(ctx context.Context, actorAddr string) error

	mu      sync.Mutex
	members map[memberKey]*reachState
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

// memberKey identifies a member: one process of a node.
type memberKey struct {
	name        string
	incarnation uint64
}

func keyOf(m NodeMeta) memberKey { return memberKey{m.Name, m.Incarnation} }

type reachState struct {
	addr     string
	ok       bool
	probing  bool
	warned   bool // the failure has been logged once at warning level
	failures int
	next     time.Time // no probe before
}

// Probe periods: one probe waits up to reachProbeTimeout (Proto.Actor
// gives up a connection it cannot make after about 2 s); a member that
// did not answer is asked again after reachRetry, then after twice as
// long each time, up to reachBackoff times reachRetry.
const (
	reachProbeTimeout = 3 * time.Second
	reachRetry        = time.Second
	reachBackoff      = 16
)

// newReach starts tracking for the node whose actor address is self,
// probing with probe (and diagnose, which may be nil) and asking again
// after retry at first.
func newReach(self string, probe, diagnose func(context.Context, string) error, retry time.Duration, log *slog.Logger, changed func()) *reach {
	r := &reach{self: self, probe: probe, diagnose: diagnose, timeout: reachProbeTimeout, retry: retry, log: log, changed: changed,
		members: map[memberKey]*reachState{}, stop: make(chan struct{})}
	r.wg.Add(1)
	go r.retryLoop()
	return r
}

// reachable reports whether m's task manager has answered this node.
func (r *reach) reachable(m NodeMeta) bool {
	if m.ActorAddr == r.self {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.members[keyOf(m)]
	return st != nil && st.ok && st.addr == m.ActorAddr
}

// track starts probing a member that joined or changed, unless it is
// this node, has no remote address, or is known already at that address.
func (r *reach) track(m NodeMeta) {
	if m.ActorAddr == "" || m.ActorAddr == r.self {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.members[keyOf(m)]
	if st != nil && st.addr == m.ActorAddr {
		return
	}
	st = &reachState{addr: m.ActorAddr}
	r.members[keyOf(m)] = st
	r.startLocked(m.Name, st)
}

// forget drops a member that died or left.
func (r *reach) forget(m NodeMeta) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.members, keyOf(m))
}

// startLocked starts a probe of st unless one runs or reach is closed.
func (r *reach) startLocked(name string, st *reachState) {
	if st.probing || st.ok || r.closed {
		return
	}
	st.probing = true
	r.wg.Add(1)
	go r.run(name, st)
}

// run probes one member once and records the outcome.
func (r *reach) run(name string, st *reachState) {
	defer r.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	err := r.probe(ctx, st.addr)
	r.mu.Lock()
	st.probing = false
	st.ok = err == nil
	warn := err != nil && !st.warned
	st.warned = st.warned || warn
	if err != nil {
		st.next = time.Now().Add(r.retry * time.Duration(min(1<<min(st.failures, 8), reachBackoff)))
		st.failures++
	}
	r.mu.Unlock()
	switch {
	case err == nil:
		r.log.Info("cluster: member reachable over the data plane", "member", name, "actor_addr", st.addr)
		r.changed()
	case warn:
		if r.diagnose != nil {
			dctx, cancel := context.WithTimeout(context.Background(), r.timeout)
			if derr := r.diagnose(dctx, st.addr); derr != nil {
				err = fmt.Errorf("%w; %v", err, derr)
			}
			cancel()
		}
		r.log.Warn("cluster: member joined but its data plane cannot be reached; no subtask is placed there until it answers "+
			"(with --tls-*: is its certificate signed by this node's --tls-ca, and this node's by its? Can its --bind address be dialed from here?)",
			"member", name, "actor_addr", st.addr, "err", err)
	default:
		r.log.Debug("cluster: member still unreachable over the data plane", "member", name, "actor_addr", st.addr, "err", err)
	}
}

// retryLoop probes again, when their time has come, the members that
// have not answered.
func (r *reach) retryLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.retry)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		r.mu.Lock()
		for k, st := range r.members {
			if !now.Before(st.next) {
				r.startLocked(k.name, st)
			}
		}
		r.mu.Unlock()
	}
}

// close stops the retries and waits for the probes under way (at most one
// probe timeout). It is called once.
func (r *reach) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	r.wg.Wait()
}

// tlsDiagnosis returns a diagnose function for reach that makes a TLS
// handshake with the member's remote as its dialer would and returns the
// handshake's error: a certificate this node does not trust shows here
// (one that the member refuses shows only on its side, in TLS 1.3).
func tlsDiagnosis(cfg *tls.Config) func(context.Context, string) error {
	return func(ctx context.Context, addr string) error {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return err
		}
		c := cfg.Clone()
		c.ServerName, c.NextProtos = host, []string{"h2"}
		conn, err := (&tls.Dialer{Config: c}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		return conn.Close()
	}
}
