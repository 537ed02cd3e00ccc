package cluster

import (
	"fmt"
	"maps"
	"math"
	"net"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// MaxMetaSize is the most bytes memberlist carries as a node's metadata
// (memberlist.MetaMaxSize): an encoded NodeMeta never exceeds it.
const MaxMetaSize = 512

// MaxFieldLen is the most bytes of one string field of a NodeMeta, and of
// each key and value of Extra.
const MaxFieldLen = 255

// MaxSlots is the largest slot count a NodeMeta may carry.
const MaxSlots = math.MaxInt32

// NodeMeta is what a node tells the others about itself by gossip. Every
// member carries one; Membership.Members and the events return them.
//
// New fills Name, GossipAddr, StartTime and Incarnation itself and sets
// Leaving in Leave: in Config.Meta and UpdateMeta only ActorAddr, HTTPAddr,
// Slots, Version and Extra are taken from the caller.
type NodeMeta struct {
	// Name is the node's name, unique in the cluster (memberlist's node
	// name).
	Name string
	// ActorAddr is the host:port of the node's Proto.Actor remote, empty
	// while the node has none.
	ActorAddr string
	// HTTPAddr is the host:port of the node's HTTP server (REST API,
	// metrics), empty when it serves none.
	HTTPAddr string
	// GossipAddr is the host:port memberlist advertises for the node.
	GossipAddr string
	// Slots is how many subtasks the node offers to run (or has free: the
	// placement decides what it publishes), 0 to MaxSlots.
	Slots int
	// Version is the node's build version, free text.
	Version string
	// StartTime is when the node's process started, in Unix nanoseconds;
	// the coordinator rule picks the oldest member by it.
	StartTime int64
	// Incarnation is random per process start and never 0: a node that
	// restarts with the same name and address is another member, and
	// everything bound to the old one (its subtasks, its leases) is gone.
	Incarnation uint64
	// Leaving is set once the node has begun a graceful Leave; the others
	// then report its departure as EventLeave rather than EventDead.
	Leaving bool
	// Extra holds fields added later without a new format version (for
	// example a NATS cluster route address): keys and values of at most
	// MaxFieldLen bytes, keys not empty. Nodes that do not know a key
	// carry it unchanged.
	Extra map[string]string
}

// Started returns StartTime as a time.
func (m NodeMeta) Started() time.Time { return time.Unix(0, m.StartTime) }

// String returns "name#incarnation", the identity of one member.
func (m NodeMeta) String() string { return fmt.Sprintf("%s#%016x", m.Name, m.Incarnation) }

// clone returns a copy that shares no map with m, so that a NodeMeta
// handed out cannot change the view it came from.
func (m NodeMeta) clone() NodeMeta {
	m.Extra = maps.Clone(m.Extra)
	return m
}

// field is one string of a NodeMeta, named as errors name it.
type field struct {
	name, value string
}

// stringFields lists the string fields in encoding order, Extra's keys
// and values last, in key order.
func (m *NodeMeta) stringFields() []field {
	fs := []field{
		{"Name", m.Name}, {"ActorAddr", m.ActorAddr}, {"HTTPAddr", m.HTTPAddr},
		{"GossipAddr", m.GossipAddr}, {"Version", m.Version},
	}
	for _, k := range slices.Sorted(maps.Keys(m.Extra)) {
		fs = append(fs, field{fmt.Sprintf("Extra key %q", k), k},
			field{fmt.Sprintf("Extra[%q]", k), m.Extra[k]})
	}
	return fs
}

// Validate checks every field; the error names the first bad one. It does
// not check the encoded size: MarshalBinary does.
func (m *NodeMeta) Validate() error {
	for _, f := range m.stringFields() {
		if len(f.value) > MaxFieldLen {
			return fmt.Errorf("%w: %s is %d bytes, over %d", ErrMetaTooLarge, f.name, len(f.value), MaxFieldLen)
		}
		if !utf8.ValidString(f.value) {
			return fmt.Errorf("%w: %s is not valid UTF-8", ErrMeta, f.name)
		}
	}
	switch {
	case m.Name == "":
		return fmt.Errorf("%w: Name is empty", ErrMeta)
	case m.Slots < 0 || m.Slots > MaxSlots:
		return fmt.Errorf("%w: Slots %d is outside 0..%d", ErrMeta, m.Slots, MaxSlots)
	case m.StartTime <= 0:
		return fmt.Errorf("%w: StartTime %d is not positive", ErrMeta, m.StartTime)
	case m.Incarnation == 0:
		return fmt.Errorf("%w: Incarnation is 0", ErrMeta)
	}
	if _, ok := m.Extra[""]; ok {
		return fmt.Errorf("%w: Extra has an empty key", ErrMeta)
	}
	if err := checkAddr("GossipAddr", m.GossipAddr, true); err != nil {
		return err
	}
	if err := checkAddr("ActorAddr", m.ActorAddr, false); err != nil {
		return err
	}
	return checkAddr("HTTPAddr", m.HTTPAddr, false)
}

// checkAddr checks that addr is host:port with a host and a numeric port,
// the form another node can dial; empty is allowed unless required.
func checkAddr(name, addr string, required bool) error {
	if addr == "" {
		if required {
			return fmt.Errorf("%w: %s is empty", ErrMeta, name)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not host:port: %v", ErrMeta, name, addr, err)
	}
	if host == "" {
		return fmt.Errorf("%w: %s %q has no host", ErrMeta, name, addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%w: %s %q has no numeric port", ErrMeta, name, addr)
	}
	return nil
}

// Equal reports whether m and o hold the same values, Extra compared by
// content (a nil and an empty Extra are equal).
func (m NodeMeta) Equal(o NodeMeta) bool {
	return m.Name == o.Name && m.ActorAddr == o.ActorAddr && m.HTTPAddr == o.HTTPAddr &&
		m.GossipAddr == o.GossipAddr && m.Slots == o.Slots && m.Version == o.Version &&
		m.StartTime == o.StartTime && m.Incarnation == o.Incarnation &&
		m.Leaving == o.Leaving && maps.Equal(m.Extra, o.Extra)
}
