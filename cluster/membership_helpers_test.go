package cluster

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// Timeouts of the membership tests, before dilation. Detection with
// LocalTiming takes about 1 s; the margin is for -race on a loaded machine.
const (
	convergeTimeout  = 5 * time.Second
	detectTimeout    = 10 * time.Second
	broadcastTimeout = 5 * time.Second
)

// testNode is a running Membership on loopback with a recorder of its
// events.
type testNode struct {
	*Membership
	rec *recorder
}

// startNode starts a node named name with LocalConfig that joins seeds;
// opts adjust the config. The node is closed at cleanup.
func startNode(t testing.TB, name string, seeds []string, opts ...func(*Config)) *testNode {
	t.Helper()
	cfg := LocalConfig()
	cfg.Name, cfg.Join = name, seeds
	cfg.Meta = NodeMeta{ActorAddr: "127.0.0.1:9000", Slots: 2, Version: "test"}
	cfg.Logger = testLogger()
	for _, o := range opts {
		o(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	n := &testNode{Membership: m, rec: record(m)}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close %s: %v", name, err)
		}
		n.rec.wait()
	})
	return n
}

// testLogger logs to stderr when TROUPE_TEST_LOG is set (debug for
// "debug"), and discards otherwise.
func testLogger() *slog.Logger {
	switch os.Getenv("TROUPE_TEST_LOG") {
	case "":
		return slog.New(slog.DiscardHandler)
	case "debug":
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// startCluster starts nodes n1..nk, each joining n1, and waits until every
// one sees all of them.
func startCluster(t testing.TB, k int) []*testNode {
	t.Helper()
	nodes := []*testNode{startNode(t, "n1", nil)}
	for i := 2; i <= k; i++ {
		nodes = append(nodes, startNode(t, fmt.Sprintf("n%d", i), []string{nodes[0].Addr()}))
	}
	waitMembers(t, nodes, nodeNames(nodes)...)
	return nodes
}

func nodeNames(nodes []*testNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.name)
	}
	return out
}

// waitMembers waits until every node lists exactly the named members.
func waitMembers(t testing.TB, nodes []*testNode, want ...string) {
	t.Helper()
	waitMembersWithin(t, convergeTimeout, nodes, want...)
}

func waitMembersWithin(t testing.TB, d time.Duration, nodes []*testNode, want ...string) {
	t.Helper()
	slices.Sort(want)
	for _, n := range nodes {
		eventually(t, d, func() bool { return slices.Equal(memberNames(n.Members()), want) },
			"%s sees %v, want %v", n.name, lazy(func() any { return memberNames(n.Members()) }), want)
	}
}

// lazy formats as f's result, computed when the failure is printed.
type lazy func() any

func (l lazy) String() string { return fmt.Sprint(l()) }

func memberNames(ms []NodeMeta) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

// recorder keeps every event of one Membership, read by its own goroutine
// until Close closes the channel.
type recorder struct {
	mu     sync.Mutex
	events []Event
	times  []time.Time // when each event was received
	done   chan struct{}
}

func record(m *Membership) *recorder {
	r := &recorder{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ev := range m.Events() {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.times = append(r.times, time.Now())
			r.mu.Unlock()
		}
	}()
	return r
}

// wait returns once the channel is closed (after Close).
func (r *recorder) wait() { <-r.done }

func (r *recorder) snapshot() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// about returns the events about the member named name.
func (r *recorder) about(name string) []Event {
	var out []Event
	for _, ev := range r.snapshot() {
		if ev.Node.Name == name {
			out = append(out, ev)
		}
	}
	return out
}

// when returns when the first event matching pred was received.
func (r *recorder) when(pred func(Event) bool) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := slices.IndexFunc(r.events, pred); i >= 0 {
		return r.times[i], true
	}
	return time.Time{}, false
}

// waitFor waits until an event matching pred was recorded, and returns
// the first one.
func (r *recorder) waitFor(t testing.TB, d time.Duration, what string, pred func(Event) bool) Event {
	t.Helper()
	var found Event
	eventually(t, d, func() bool {
		i := slices.IndexFunc(r.snapshot(), pred)
		if i >= 0 {
			found = r.snapshot()[i]
		}
		return i >= 0
	}, "no event %s; events: %v", what, lazy(func() any { return r.snapshot() }))
	return found
}

// is matches the event of the given type about the member named name.
func is(typ EventType, name string) func(Event) bool {
	return func(ev Event) bool { return ev.Type == typ && ev.Node.Name == name }
}

// coordinatorOf returns the name of the coordinator in n's view.
func coordinatorOf(n *testNode) string {
	c, ok := Coordinator(n.Members())
	if !ok {
		return ""
	}
	return c.Name
}
