package cluster

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// Config configures a Membership. Start from DefaultConfig (a LAN) or
// LocalConfig (loopback, tests), then set Name, Join and Meta.
type Config struct {
	// Name is the node's name, unique in the cluster. Required, at most
	// MaxFieldLen bytes.
	Name string
	// Bind is the host:port memberlist listens on, UDP and TCP on the same
	// port. The host is an IP address; empty or "0.0.0.0" listens on every
	// interface and advertises a private address of the machine. Port 0
	// lets the OS choose: read Membership.Addr after New. Required;
	// DefaultConfig gives "0.0.0.0:7946", LocalConfig "127.0.0.1:0".
	Bind string
	// Join lists seed nodes as host:port (the host may be a DNS name). Give
	// every node the same list, itself included: the nodes then contact
	// each other directly and converge at once. Seeds that do not answer
	// are retried (Timing.RejoinInterval). Empty: the node starts a
	// cluster alone and waits to be joined.
	Join []string
	// Meta is what the node publishes. Only ActorAddr, HTTPAddr, Slots,
	// Version and Extra are taken from it; New sets the rest (see
	// NodeMeta).
	Meta NodeMeta
	// Logger receives this package's records and, at debug level,
	// memberlist's. Nil discards them.
	Logger *slog.Logger
	// Timing sets the failure detector and gossip periods; zero fields
	// take LANTiming's values.
	Timing Timing
	// GossipKeys, when set, encrypt and authenticate every gossip message
	// (memberlist's keyring: AES-GCM with keys of 16, 24 or 32 bytes,
	// AES-128, -192 or -256). The first key encrypts what the node sends;
	// every key is tried on what it receives, so a cluster can rotate keys
	// without a gap (SetGossipKeys, docs/operations.md). A node accepts
	// no message in the clear, and one without a key it holds cannot
	// join. Empty: gossip in the clear, and whoever reaches the port may
	// join (the default, for loopback).
	GossipKeys [][]byte
}

// Timing holds the knobs of memberlist's gossip and failure detector that
// decide how fast the cluster converges and detects failures, against how
// much it sends and how readily a slow node is declared dead.
//
// A failed node is probed (ProbeInterval, waiting ProbeTimeout for an ack,
// then indirectly through other nodes and over TCP), suspected, and
// declared dead after a suspicion timeout of SuspicionMult × ProbeInterval
// × max(1, log10(n)) for n nodes, unless it refutes the suspicion in
// time. Each node probes one other per ProbeInterval, so the time until a
// failed node is first probed grows with the cluster and the detection
// time is about ProbeInterval plus the suspicion timeout at first, more
// for large clusters.
type Timing struct {
	// ProbeInterval is the period of failure-detector probes. Lower finds
	// failures sooner, with more packets per second. LAN 1 s, local 200 ms.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a probe waits for an ack before asking
	// others: about the 99th percentile of the network's round trip. Too
	// low for a loaded machine gives false suspicions, which the suspect
	// refutes unless it stays slow for the whole suspicion timeout. LAN
	// 500 ms, local 100 ms.
	ProbeTimeout time.Duration
	// SuspicionMult scales the suspicion timeout (see Timing). Lower
	// declares failed nodes dead sooner and gives a slow node less time to
	// refute. LAN 4, local 2.
	SuspicionMult int
	// GossipInterval is the period at which a node sends queued gossip
	// (joins, leaves, metadata updates, suspicions) to a few random others.
	// LAN 200 ms, local 50 ms.
	GossipInterval time.Duration
	// PushPullInterval is the period of full state syncs with one random
	// live member over TCP, which repair whatever gossip missed. Memberlist's LAN default is 30 s; ours is 5 s because our
	// clusters are small (a sync carries every member, a few KB for
	// dozens of nodes). Local 1 s.
	PushPullInterval time.Duration
	// TCPTimeout bounds a TCP connection (join, state sync, TCP fallback
	// ping). LAN 10 s, local 1 s.
	TCPTimeout time.Duration
	// RejoinInterval is how often a node contacts again the Join seeds
	// that have not answered yet, and all of them while it sees no other
	// member: nodes started in any order find each other once their seeds
	// are up, and a node left alone (all the others dead) finds them when
	// they come back. LAN 1 s, local 200 ms.
	RejoinInterval time.Duration
}

// LANTiming returns the defaults for a LAN: memberlist's
// DefaultLANConfig, with full state syncs every 5 s instead of 30 s. A
// failed node is declared dead after about 5 s.
func LANTiming() Timing {
	return Timing{
		ProbeInterval:    time.Second,
		ProbeTimeout:     500 * time.Millisecond,
		SuspicionMult:    4,
		GossipInterval:   200 * time.Millisecond,
		PushPullInterval: 5 * time.Second,
		TCPTimeout:       10 * time.Second,
		RejoinInterval:   time.Second,
	}
}

// LocalTiming returns a fast profile for nodes on one machine (loopback,
// tests): a failed node is declared dead after about 1 s (see the
// package documentation for measurements). On a loaded machine a node
// that stalls for longer than the suspicion timeout (400 ms with three
// nodes) is declared dead falsely; it comes back as a join when it
// refutes, but whatever ran there has been failed over.
func LocalTiming() Timing {
	return Timing{
		ProbeInterval:    200 * time.Millisecond,
		ProbeTimeout:     100 * time.Millisecond,
		SuspicionMult:    2,
		GossipInterval:   50 * time.Millisecond,
		PushPullInterval: time.Second,
		TCPTimeout:       time.Second,
		RejoinInterval:   200 * time.Millisecond,
	}
}

// DefaultConfig returns a Config for a LAN, listening on every interface
// at port 7946, without Name.
func DefaultConfig() Config {
	return Config{Bind: "0.0.0.0:7946", Timing: LANTiming()}
}

// LocalConfig returns a Config for nodes on one machine: loopback, a port
// chosen by the OS, LocalTiming. Without Name.
func LocalConfig() Config {
	return Config{Bind: "127.0.0.1:0", Timing: LocalTiming()}
}

// withDefaults returns t with every zero field taken from LANTiming.
func (t Timing) withDefaults() Timing {
	d := LANTiming()
	orDefault(&t.ProbeInterval, d.ProbeInterval)
	orDefault(&t.ProbeTimeout, d.ProbeTimeout)
	orDefault(&t.SuspicionMult, d.SuspicionMult)
	orDefault(&t.GossipInterval, d.GossipInterval)
	orDefault(&t.PushPullInterval, d.PushPullInterval)
	orDefault(&t.TCPTimeout, d.TCPTimeout)
	orDefault(&t.RejoinInterval, d.RejoinInterval)
	return t
}

func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

func (t Timing) validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"ProbeInterval", t.ProbeInterval}, {"ProbeTimeout", t.ProbeTimeout},
		{"GossipInterval", t.GossipInterval}, {"PushPullInterval", t.PushPullInterval},
		{"TCPTimeout", t.TCPTimeout}, {"RejoinInterval", t.RejoinInterval},
	} {
		if f.d < 0 {
			return fmt.Errorf("%w: Timing.%s %v is negative", ErrConfig, f.name, f.d)
		}
	}
	switch {
	case t.SuspicionMult < 0:
		return fmt.Errorf("%w: Timing.SuspicionMult %d is negative", ErrConfig, t.SuspicionMult)
	case t.ProbeTimeout >= t.ProbeInterval:
		return fmt.Errorf("%w: Timing.ProbeTimeout %v is not below ProbeInterval %v",
			ErrConfig, t.ProbeTimeout, t.ProbeInterval)
	}
	return nil
}

// bindAddr is Config.Bind parsed.
type bindAddr struct {
	host string // an IP address
	port int
}

// validate checks c and returns its bind address; c.Timing must already
// have its defaults.
func (c *Config) validate() (bindAddr, error) {
	switch {
	case c.Name == "":
		return bindAddr{}, fmt.Errorf("%w: Name is empty", ErrConfig)
	case len(c.Name) > MaxFieldLen:
		return bindAddr{}, fmt.Errorf("%w: Name is %d bytes, over %d", ErrConfig, len(c.Name), MaxFieldLen)
	}
	bind, err := parseBind(c.Bind)
	if err != nil {
		return bindAddr{}, err
	}
	if err := validateKeys(c.GossipKeys); err != nil {
		return bindAddr{}, err
	}
	for i, seed := range c.Join {
		if _, port, err := net.SplitHostPort(seed); err != nil {
			return bindAddr{}, fmt.Errorf("%w: Join[%d] %q is not host:port: %v", ErrConfig, i, seed, err)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return bindAddr{}, fmt.Errorf("%w: Join[%d] %q has no numeric port", ErrConfig, i, seed)
		}
	}
	return bind, c.Timing.validate()
}

// validateKeys checks gossip keys' sizes; memberlist's own error would
// not name the key.
func validateKeys(keys [][]byte) error {
	for i, k := range keys {
		if err := memberlist.ValidateKey(k); err != nil {
			return fmt.Errorf("%w: GossipKeys[%d] is %d bytes, want 16, 24 or 32 (AES-128, -192, -256)", ErrConfig, i, len(k))
		}
	}
	return nil
}

func parseBind(s string) (bindAddr, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return bindAddr{}, fmt.Errorf("%w: Bind %q is not host:port: %v", ErrConfig, s, err)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	if net.ParseIP(host) == nil {
		return bindAddr{}, fmt.Errorf("%w: Bind %q: host must be an IP address", ErrConfig, s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return bindAddr{}, fmt.Errorf("%w: Bind %q: port is not a number from 0 to 65535", ErrConfig, s)
	}
	return bindAddr{host: host, port: int(p)}, nil
}

// memberlistConfig translates Timing onto memberlist's LAN defaults.
func (t Timing) memberlistConfig() *memberlist.Config {
	mc := memberlist.DefaultLANConfig()
	mc.ProbeInterval = t.ProbeInterval
	mc.ProbeTimeout = t.ProbeTimeout
	mc.SuspicionMult = t.SuspicionMult
	mc.GossipInterval = t.GossipInterval
	mc.PushPullInterval = t.PushPullInterval
	mc.TCPTimeout = t.TCPTimeout
	// A node restarted under its name gets new ports; memberlist refuses
	// the new address while the old one's death is recent unless the name
	// may be reclaimed (its default, 0, never allows it), and the node
	// would stay out until the dead entry is forgotten (GossipToTheDead,
	// 30 s). Names are unique per node, so a dead name is free again at
	// once.
	mc.DeadNodeReclaimTime = t.ProbeInterval
	return mc
}
