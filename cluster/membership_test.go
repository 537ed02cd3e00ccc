package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMembership_threeNodesConverge(t *testing.T) {
	nodes := startCluster(t, 3)
	for _, n := range nodes {
		members := n.Members()
		for _, m := range members {
			if m.ActorAddr != "127.0.0.1:9000" || m.Slots != 2 || m.Version != "test" ||
				m.Incarnation == 0 || m.StartTime == 0 || !strings.HasPrefix(m.GossipAddr, "127.0.0.1:") {
				t.Errorf("%s sees member %s with metadata %+v", n.name, m.Name, m)
			}
		}
		for _, other := range nodes {
			if got := members[slices.IndexFunc(members, func(m NodeMeta) bool { return m.Name == other.name })]; !got.Equal(other.Local()) {
				t.Errorf("%s sees %+v, %s publishes %+v", n.name, got, other.name, other.Local())
			}
			n.rec.waitFor(t, convergeTimeout, "join of "+other.name, is(EventJoin, other.name))
		}
		if c := coordinatorOf(n); c != "n1" {
			t.Errorf("%s: coordinator %q, want n1, the oldest", n.name, c)
		}
	}
	// A node's own join comes first.
	for _, n := range nodes {
		if first := n.rec.snapshot()[0]; first.Type != EventJoin || first.Node.Name != n.name {
			t.Errorf("%s: first event %v, want its own join", n.name, first)
		}
	}
}

// A node that joins two clusters formed apart merges them.
func TestMembership_joinMergesClusters(t *testing.T) {
	a := startNode(t, "a", nil)
	b := startNode(t, "b", nil)
	c := startNode(t, "c", []string{a.Addr(), b.Addr()})
	waitMembers(t, []*testNode{a, b, c}, "a", "b", "c")
}

func TestMembership_Leave_seenAsLeave(t *testing.T) {
	nodes := startCluster(t, 3)
	n3 := nodes[2]
	if err := n3.Leave(broadcastTimeout); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[:2] {
		n.rec.waitFor(t, convergeTimeout, "leave of n3", is(EventLeave, "n3"))
		for _, ev := range n.rec.about("n3") {
			if ev.Type == EventDead {
				t.Errorf("%s: n3 reported dead after a graceful leave: %v", n.name, n.rec.about("n3"))
			}
		}
		// Its intent arrived first, as an update.
		if ev := n.rec.waitFor(t, 0, "update of n3", is(EventUpdate, "n3")); !ev.Node.Leaving {
			t.Errorf("%s: update of n3 without Leaving: %+v", n.name, ev.Node)
		}
	}
	waitMembers(t, nodes[:2], "n1", "n2")
	n3.rec.waitFor(t, convergeTimeout, "own leave", is(EventLeave, "n3"))
	if got := memberNames(n3.Members()); slices.Contains(got, "n3") {
		t.Errorf("n3 still lists itself after Leave: %v", got)
	}
}

func TestMembership_Close_seenAsDead(t *testing.T) {
	nodes := startCluster(t, 3)
	start := time.Now()
	if err := nodes[2].Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[:2] {
		ev := n.rec.waitFor(t, detectTimeout, "death of n3", is(EventDead, "n3"))
		if !ev.Node.Equal(nodes[2].Local()) {
			t.Errorf("%s: dead event carries %+v, want n3's last metadata %+v", n.name, ev.Node, nodes[2].Local())
		}
	}
	t.Logf("death of n3 seen by both others after %v", time.Since(start).Round(time.Millisecond))
	waitMembers(t, nodes[:2], "n1", "n2")
}

func TestMembership_UpdateMeta_propagates(t *testing.T) {
	nodes := startCluster(t, 3)
	n2 := nodes[1]
	before := n2.Local()
	update := NodeMeta{
		ActorAddr: "127.0.0.1:9100", HTTPAddr: "127.0.0.1:8080", Slots: 7, Version: "v2",
		Extra: map[string]string{"nats": "127.0.0.1:6222"},
		// Fields New owns are ignored.
		Name: "other", StartTime: 1, Incarnation: 1, Leaving: true,
	}
	if err := n2.UpdateMeta(update, broadcastTimeout); err != nil {
		t.Fatal(err)
	}
	want := before
	want.ActorAddr, want.HTTPAddr, want.Slots, want.Version, want.Extra =
		update.ActorAddr, update.HTTPAddr, update.Slots, update.Version, update.Extra
	if got := n2.Local(); !got.Equal(want) {
		t.Fatalf("Local after UpdateMeta:\n got %+v\nwant %+v", got, want)
	}
	for _, n := range nodes {
		ev := n.rec.waitFor(t, convergeTimeout, "update of n2", is(EventUpdate, "n2"))
		if !ev.Node.Equal(want) {
			t.Errorf("%s: update event carries %+v, want %+v", n.name, ev.Node, want)
		}
		eventually(t, convergeTimeout, func() bool {
			i := slices.IndexFunc(n.Members(), func(m NodeMeta) bool { return m.Name == "n2" })
			return i >= 0 && n.Members()[i].Equal(want)
		}, "%s lists n2 with the new metadata", n.name)
	}
	// Too large: refused, nothing published.
	big := update
	big.Extra = map[string]string{"a": strings.Repeat("a", 250), "b": strings.Repeat("b", 250)}
	if err := n2.UpdateMeta(big, broadcastTimeout); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("UpdateMeta of %d bytes of Extra: got %v, want ErrMetaTooLarge", 500, err)
	}
	if !n2.Local().Equal(want) {
		t.Fatalf("a refused update changed Local: %+v", n2.Local())
	}
}

// A node restarted with the same name and address is a new member: the
// others see the old incarnation die and the new one join, and nothing
// about the old one afterwards.
func TestMembership_restartIsNewMember(t *testing.T) {
	for _, tc := range []struct {
		name       string
		detectDead bool // wait until the others saw the old one dead
	}{
		{"before the death is detected", false},
		{"after the death is detected", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := startCluster(t, 3)
			old := nodes[2].Local()
			if err := nodes[2].Close(); err != nil {
				t.Fatal(err)
			}
			if tc.detectDead {
				for _, n := range nodes[:2] {
					n.rec.waitFor(t, detectTimeout, "death of n3", is(EventDead, "n3"))
				}
			}
			restarted := startNode(t, "n3", []string{nodes[0].Addr()}, func(c *Config) { c.Bind = old.GossipAddr })
			if restarted.Addr() != old.GossipAddr {
				t.Fatalf("restarted on %s, want %s", restarted.Addr(), old.GossipAddr)
			}
			now := restarted.Local()
			if now.Incarnation == old.Incarnation {
				t.Fatal("restart kept the incarnation")
			}
			waitMembers(t, append(nodes[:2], restarted), "n1", "n2", "n3")
			for _, n := range nodes[:2] {
				eventually(t, convergeTimeout, func() bool {
					i := slices.IndexFunc(n.Members(), func(m NodeMeta) bool { return m.Name == "n3" })
					return i >= 0 && n.Members()[i].Equal(now)
				}, "%s lists the new n3", n.name)
			}
			// Let the cluster settle on the new incarnation: its graceful
			// leave must be reported as such, as the last word on n3.
			if err := restarted.Leave(broadcastTimeout); err != nil {
				t.Fatal(err)
			}
			for _, n := range nodes[:2] {
				n.rec.waitFor(t, convergeTimeout, "leave of the new n3", func(ev Event) bool {
					return ev.Type == EventLeave && ev.Node.Incarnation == now.Incarnation
				})
				checkIncarnations(t, n.name, n.rec.about("n3"), old.Incarnation, now.Incarnation)
			}
		})
	}
}

// checkIncarnations checks one observer's events about a restarted node:
// join, updates and death of the old incarnation, then join, updates and
// leave of the new one, and nothing else.
func checkIncarnations(t *testing.T, observer string, evs []Event, old, now uint64) {
	t.Helper()
	var got []string
	for _, ev := range evs {
		which := "new"
		if ev.Node.Incarnation == old {
			which = "old"
		} else if ev.Node.Incarnation != now {
			which = fmt.Sprintf("%016x", ev.Node.Incarnation)
		}
		if ev.Type == EventUpdate && len(got) > 0 && got[len(got)-1] == "update "+which {
			continue
		}
		got = append(got, ev.Type.String()+" "+which)
	}
	want := []string{"join old", "dead old", "join new", "update new", "leave new"}
	if !slices.Equal(got, want) {
		t.Errorf("%s: events about n3 %v, want %v (updates merged)", observer, got, want)
	}
}

func TestMembership_coordinatorChangesWhenOldestLeaves(t *testing.T) {
	nodes := startCluster(t, 3)
	for _, n := range nodes {
		if c := coordinatorOf(n); c != "n1" {
			t.Fatalf("%s: coordinator %q, want n1", n.name, c)
		}
	}
	if err := nodes[0].Leave(broadcastTimeout); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[1:] {
		eventually(t, convergeTimeout, func() bool { return coordinatorOf(n) == "n2" },
			"%s: coordinator %v, want n2", n.name, lazy(func() any { return coordinatorOf(n) }))
	}
}

// A node started before its seed finds the cluster once the seed is up.
func TestMembership_rejoinsSeedThatStartsLater(t *testing.T) {
	addr := unusedAddr(t)
	early := startNode(t, "early", []string{addr})
	if got := memberNames(early.Members()); !slices.Equal(got, []string{"early"}) {
		t.Fatalf("early node sees %v before its seed runs", got)
	}
	seed := startNode(t, "seed", nil, func(c *Config) { c.Bind = addr })
	waitMembers(t, []*testNode{early, seed}, "early", "seed")
}

// A seed that did not answer is retried even after the node found others
// through another seed: nodes started together with different seeds
// (here b with a, c with b) would otherwise form separate clusters.
func TestMembership_rejoinsUnansweredSeedWhenNotAlone(t *testing.T) {
	addrA := unusedAddr(t)
	b := startNode(t, "b", []string{addrA})
	c := startNode(t, "c", []string{b.Addr()})
	waitMembers(t, []*testNode{b, c}, "b", "c")
	a := startNode(t, "a", nil, func(cfg *Config) { cfg.Bind = addrA })
	waitMembers(t, []*testNode{a, b, c}, "a", "b", "c")
}

// unusedAddr returns a loopback address that nobody listens on but a
// node may bind later: a node took it and closed.
func unusedAddr(t *testing.T) string {
	t.Helper()
	probe := startNode(t, "probe", nil)
	if err := probe.Close(); err != nil {
		t.Fatal(err)
	}
	return probe.Addr()
}

// Events that nobody reads wait, in order, and hold nothing up.
func TestMembership_Events_unreadWaitInOrder(t *testing.T) {
	cfg := LocalConfig()
	cfg.Name, cfg.Logger = "quiet", testLogger()
	quiet, err := New(cfg) // nobody reads its events until the end
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	busy := startNode(t, "busy", []string{quiet.Addr()})
	const updates = 10
	for i := 1; i <= updates; i++ {
		if err := busy.UpdateMeta(NodeMeta{Slots: i}, broadcastTimeout); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, convergeTimeout, func() bool {
		i := slices.IndexFunc(quiet.Members(), func(m NodeMeta) bool { return m.Name == "busy" })
		return i >= 0 && quiet.Members()[i].Slots == updates
	}, "quiet sees the last update")
	if n := quiet.pump.pending(); n < 3 {
		t.Fatalf("%d events pending, want them all queued", n)
	}
	var got []string
	for ev := range quiet.Events() {
		got = append(got, fmt.Sprintf("%v %s %d", ev.Type, ev.Node.Name, ev.Node.Slots))
		if ev.Node.Slots == updates {
			break
		}
	}
	// Updates may be coalesced by gossip (a newer one overtakes an older),
	// never reordered.
	if len(got) < 3 || got[0] != "join quiet 0" || got[1] != "join busy 2" {
		t.Fatalf("events %v, want both joins first", got)
	}
	prev := 0
	for _, e := range got[2:] {
		var slots int
		if _, err := fmt.Sscanf(e, "update busy %d", &slots); err != nil || slots <= prev {
			t.Fatalf("events %v: %q is not a later update of busy", got, e)
		}
		prev = slots
	}
}

func TestMembership_lifecycle(t *testing.T) {
	n := startNode(t, "solo", nil)
	if err := n.UpdateMeta(NodeMeta{}, 0); !errors.Is(err, ErrArgument) {
		t.Errorf("UpdateMeta with timeout 0: %v, want ErrArgument", err)
	}
	if err := n.Leave(-time.Second); !errors.Is(err, ErrArgument) {
		t.Errorf("Leave with a negative timeout: %v, want ErrArgument", err)
	}
	if err := n.Leave(broadcastTimeout); err != nil {
		t.Fatalf("Leave alone: %v", err)
	}
	if err := n.Leave(broadcastTimeout); err != nil {
		t.Errorf("second Leave: %v", err)
	}
	n.rec.waitFor(t, convergeTimeout, "own leave", is(EventLeave, "solo")) // Close drops what is unread
	if err := n.UpdateMeta(NodeMeta{}, broadcastTimeout); !errors.Is(err, ErrLeft) {
		t.Errorf("UpdateMeta after Leave: %v, want ErrLeft", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	n.rec.wait() // the channel is closed
	if err := n.Leave(broadcastTimeout); !errors.Is(err, ErrClosed) {
		t.Errorf("Leave after Close: %v, want ErrClosed", err)
	}
	if err := n.UpdateMeta(NodeMeta{}, broadcastTimeout); !errors.Is(err, ErrClosed) {
		t.Errorf("UpdateMeta after Close: %v, want ErrClosed", err)
	}
	want := []string{"join solo", "update solo", "leave solo"}
	var got []string
	for _, ev := range n.rec.snapshot() {
		got = append(got, ev.Type.String()+" "+ev.Node.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestNew_invalidConfig(t *testing.T) {
	taken := startNode(t, "taken", nil)
	for _, tc := range []struct {
		name   string
		modify func(*Config)
		is     error
		want   string
	}{
		{"no name", func(c *Config) { c.Name = "" }, ErrConfig, "Name is empty"},
		{"long name", func(c *Config) { c.Name = strings.Repeat("n", 256) }, ErrConfig, "Name is 256 bytes"},
		{"bind without port", func(c *Config) { c.Bind = "127.0.0.1" }, ErrConfig, `Bind "127.0.0.1" is not host:port`},
		{"bind to a host name", func(c *Config) { c.Bind = "localhost:0" }, ErrConfig, "host must be an IP address"},
		{"bind port out of range", func(c *Config) { c.Bind = "127.0.0.1:70000" }, ErrConfig, "port is not a number"},
		{"seed without port", func(c *Config) { c.Join = []string{"127.0.0.1:1", "host"} }, ErrConfig, `Join[1] "host"`},
		{"negative timing", func(c *Config) { c.Timing.GossipInterval = -1 }, ErrConfig, "Timing.GossipInterval"},
		{"probe timeout over interval", func(c *Config) { c.Timing.ProbeTimeout = 2 * c.Timing.ProbeInterval },
			ErrConfig, "Timing.ProbeTimeout 400ms is not below ProbeInterval"},
		{"metadata too large", func(c *Config) { c.Meta.Version = strings.Repeat("v", 300) }, ErrMetaTooLarge, "Version is 300 bytes"},
		{"bad actor address", func(c *Config) { c.Meta.ActorAddr = "nowhere" }, ErrMeta, "ActorAddr"},
		{"gossip key of 10 bytes", func(c *Config) { c.GossipKeys = [][]byte{make([]byte, 16), make([]byte, 10)} },
			ErrConfig, "GossipKeys[1] is 10 bytes"},
		{"port taken", func(c *Config) { c.Bind = taken.Addr() }, nil, "listen on " + taken.Addr()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := LocalConfig()
			cfg.Name = "x"
			tc.modify(&cfg)
			m, err := New(cfg)
			if err == nil {
				_ = m.Close()
				t.Fatal("New succeeded")
			}
			if (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %v naming %q", err, tc.is, tc.want)
			}
		})
	}
}

// Zero Timing fields take the LAN defaults.
func TestTiming_withDefaults(t *testing.T) {
	if got := (Timing{}).withDefaults(); got != LANTiming() {
		t.Fatalf("zero Timing gives %+v, want LANTiming %+v", got, LANTiming())
	}
	got := Timing{ProbeInterval: 3 * time.Second}.withDefaults()
	if got.ProbeInterval != 3*time.Second || got.ProbeTimeout != LANTiming().ProbeTimeout {
		t.Fatalf("partial Timing gives %+v", got)
	}
}
