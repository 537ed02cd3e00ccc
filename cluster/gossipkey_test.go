package cluster

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// key returns a 32-byte gossip key filled with b.
func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func withKeys(keys ...[]byte) func(*Config) {
	return func(c *Config) { c.GossipKeys = keys }
}

// joinFailures counts a node's failed attempts to join a seed, from its
// log, so that a test can wait for attempts rather than for time.
type joinFailures struct {
	slog.Handler
	n *atomic.Int64
}

func (h joinFailures) Enabled(context.Context, slog.Level) bool { return true }

func (h joinFailures) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "cluster: seed did not answer" {
		h.n.Add(1)
	}
	return nil
}

func (h joinFailures) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h joinFailures) WithGroup(string) slog.Handler      { return h }

func countJoinFailures(n *atomic.Int64) func(*Config) {
	return func(c *Config) { c.Logger = slog.New(joinFailures{Handler: slog.DiscardHandler, n: n}) }
}

// waitJoinFailures waits until the node has failed to join at least n
// times: each failure is a full exchange with the seed, refused.
func waitJoinFailures(t *testing.T, name string, failures *atomic.Int64, n int64) {
	t.Helper()
	eventually(t, convergeTimeout, func() bool { return failures.Load() >= n },
		"%s failed to join %v times, want %d", name, lazy(func() any { return failures.Load() }), n)
}

// assertMembersStay checks, every few milliseconds for d, that every node
// lists exactly want. It is no wait for something to happen: it watches
// that something does not — a node with the wrong key being let in — over
// a window of several rejoin attempts (RejoinInterval 200 ms) and full
// state syncs (PushPullInterval 1 s), any of which would let it in if its
// key were accepted.
func assertMembersStay(t *testing.T, d time.Duration, nodes []*testNode, want ...string) {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if got := memberNames(n.Members()); !slices.Equal(got, want) {
				t.Fatalf("%s sees %v, want %v", n.name, got, want)
			}
		}
		timer := time.NewTimer(20 * time.Millisecond)
		<-timer.C
	}
}

// A node whose key the cluster does not hold, or that has none, cannot
// join an encrypted cluster; nor can a node with a key join a cluster in
// the clear.
func TestMembership_gossipKey_wrongKeyCannotJoin(t *testing.T) {
	n1 := startNode(t, "n1", nil, withKeys(key(1)))
	n2 := startNode(t, "n2", []string{n1.Addr()}, withKeys(key(1)))
	waitMembers(t, []*testNode{n1, n2}, "n1", "n2")
	plain := startNode(t, "plain", nil)

	var wrong, none, keyed atomic.Int64
	w := startNode(t, "wrong", []string{n1.Addr()}, withKeys(key(2)), countJoinFailures(&wrong))
	o := startNode(t, "none", []string{n2.Addr()}, countJoinFailures(&none))
	k := startNode(t, "keyed", []string{plain.Addr()}, withKeys(key(1)), countJoinFailures(&keyed))
	waitJoinFailures(t, "wrong", &wrong, 3)
	waitJoinFailures(t, "none", &none, 3)
	waitJoinFailures(t, "keyed", &keyed, 3)
	assertMembersStay(t, dilated(2*time.Second), []*testNode{n1, n2}, "n1", "n2")
	for _, n := range []*testNode{plain, w, o, k} {
		if got := memberNames(n.Members()); !slices.Equal(got, []string{n.name}) {
			t.Errorf("%s sees %v, want only itself", n.name, got)
		}
	}
}

// Keys rotate without a gap: install the new key everywhere, send with
// it, remove the old one. Throughout, the cluster stays whole; at the
// end, a node with only the new key joins and one with only the old key
// cannot.
func TestMembership_SetGossipKeys_rotation(t *testing.T) {
	old, next := key(1), key(2)
	nodes := []*testNode{startNode(t, "n1", nil, withKeys(old))}
	nodes = append(nodes, startNode(t, "n2", []string{nodes[0].Addr()}, withKeys(old)))
	waitMembers(t, nodes, "n1", "n2")
	for _, round := range [][][]byte{{old, next}, {next, old}, {next}} {
		for _, n := range nodes {
			if err := n.SetGossipKeys(round); err != nil {
				t.Fatal(err)
			}
		}
		// A metadata update crosses with the round's keys.
		meta := nodes[0].Local()
		meta.Slots++
		if err := nodes[0].UpdateMeta(meta, dilated(broadcastTimeout)); err != nil {
			t.Fatal(err)
		}
		nodes[1].rec.waitFor(t, convergeTimeout, "update of n1", func(ev Event) bool {
			return ev.Type == EventUpdate && ev.Node.Name == "n1" && ev.Node.Slots == meta.Slots
		})
		waitMembers(t, nodes, "n1", "n2")
	}
	var stale atomic.Int64
	startNode(t, "stale", []string{nodes[0].Addr()}, withKeys(old), countJoinFailures(&stale))
	nodes = append(nodes, startNode(t, "n3", []string{nodes[1].Addr()}, withKeys(next)))
	waitMembers(t, nodes, "n1", "n2", "n3")
	waitJoinFailures(t, "stale", &stale, 3)
	waitMembers(t, nodes, "n1", "n2", "n3")
}

func TestMembership_SetGossipKeys_refused(t *testing.T) {
	plain := startNode(t, "plain", nil)
	if err := plain.SetGossipKeys([][]byte{key(1)}); !errors.Is(err, ErrConfig) {
		t.Errorf("turning encryption on: %v, want ErrConfig", err)
	}
	keyed := startNode(t, "keyed", nil, withKeys(key(1)))
	if err := keyed.SetGossipKeys(nil); !errors.Is(err, ErrConfig) {
		t.Errorf("turning encryption off: %v, want ErrConfig", err)
	}
	if err := keyed.SetGossipKeys([][]byte{key(1)[:20]}); !errors.Is(err, ErrConfig) {
		t.Errorf("a 20-byte key: %v, want ErrConfig", err)
	}
}
