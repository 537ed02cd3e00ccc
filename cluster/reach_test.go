package cluster

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeProbe answers for the addresses in ok; the others fail. It counts
// the probes of each address.
type fakeProbe struct {
	mu    sync.Mutex
	ok    map[string]bool
	calls map[string]int
}

func (f *fakeProbe) probe(_ context.Context, addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[addr]++
	if !f.ok[addr] {
		return errors.New("x509: certificate signed by unknown authority")
	}
	return nil
}

func (f *fakeProbe) set(addr string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ok[addr] = ok
}

func (f *fakeProbe) count(addr string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[addr]
}

// warnings counts warning records.
type warnings struct {
	slog.Handler
	n *atomic.Int64
}

func (w warnings) Enabled(context.Context, slog.Level) bool { return true }
func (w warnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		w.n.Add(1)
	}
	return nil
}

// A member is placeable once it answered; one that does not answer is
// asked again, warned about once, and becomes placeable when it answers.
func TestReach_probesUntilAnswered(t *testing.T) {
	f := &fakeProbe{ok: map[string]bool{"127.0.0.1:1": true}, calls: map[string]int{}}
	var warned atomic.Int64
	var changes atomic.Int64
	r := newReach("127.0.0.1:9", f.probe, nil, time.Millisecond, slog.New(warnings{slog.DiscardHandler, &warned}), func() { changes.Add(1) })
	defer r.close()

	self := NodeMeta{Name: "self", Incarnation: 1, ActorAddr: "127.0.0.1:9"}
	good := NodeMeta{Name: "good", Incarnation: 2, ActorAddr: "127.0.0.1:1"}
	bad := NodeMeta{Name: "bad", Incarnation: 3, ActorAddr: "127.0.0.1:2"}
	if !r.reachable(self) {
		t.Fatal("the node itself is not reachable")
	}
	r.track(good)
	r.track(bad)
	eventually(t, convergeTimeout, func() bool { return r.reachable(good) }, "good never reachable")
	// The first failed probe logs its warning after it has recorded its
	// outcome, so later probes may be counted before it: wait for both.
	eventually(t, convergeTimeout, func() bool { return f.count(bad.ActorAddr) >= 3 && warned.Load() >= 1 },
		"bad not probed again, or not warned about")
	if r.reachable(bad) {
		t.Fatal("bad is reachable though it never answered")
	}
	if got := warned.Load(); got != 1 {
		t.Errorf("%d warnings about bad, want 1", got)
	}
	f.set(bad.ActorAddr, true)
	eventually(t, convergeTimeout, func() bool { return r.reachable(bad) }, "bad never reachable once it answered")
	if got := changes.Load(); got != 2 {
		t.Errorf("changed called %d times, want 2", got)
	}
	// A new incarnation of a node is probed anew.
	again := bad
	again.Incarnation = 4
	f.set(bad.ActorAddr, false)
	r.forget(bad)
	r.track(again)
	if r.reachable(again) {
		t.Fatal("a new incarnation is reachable before it answered")
	}
}
