package cluster

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// EventType says what happened to a member.
type EventType int

const (
	// EventJoin: a member appeared, the local node included (its own Join
	// is the first event of every Membership).
	EventJoin EventType = iota + 1
	// EventLeave: a member left gracefully (Membership.Leave); it had set
	// NodeMeta.Leaving before it went.
	EventLeave
	// EventDead: a member failed, was replaced by a new incarnation of the
	// same name, or began to send metadata this node cannot decode. A
	// member whose leave intent did not reach this node is reported dead
	// too, so treat EventLeave and EventDead alike for everything that ran
	// there.
	EventDead
	// EventUpdate: a member changed its metadata (Slots, Leaving, ...).
	EventUpdate
)

func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventDead:
		return "dead"
	case EventUpdate:
		return "update"
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// Event is one change of the membership. Node is the member's metadata:
// the new one for a join or an update, the last known one for a leave or
// a death.
type Event struct {
	Type EventType
	Node NodeMeta
}

func (e Event) String() string { return e.Type.String() + " " + e.Node.String() }

// view is the live members as this node knows them, keyed by name: the
// pure core between memberlist's notifications and our events. Each
// notification returns the events it causes. It treats memberlist's join
// and update alike (alive), so what it reports depends only on the
// metadata, never on which callback memberlist chose. Not safe for
// concurrent use: Membership guards it.
type view struct {
	members map[string]viewEntry
}

type viewEntry struct {
	meta NodeMeta
	raw  []byte // the canonical encoding: equal bytes, equal metadata
}

func newView() view { return view{members: make(map[string]viewEntry)} }

// alive records that memberlist sees the node name alive with the given
// metadata. A new name is a join; another incarnation under a known name is
// the death of the old one and the join of the new one; new metadata of the
// same incarnation is an update; the same bytes again are nothing.
// Metadata that does not decode, or that names another node, is an error:
// a known member with it is reported dead, an unknown one is ignored.
func (v *view) alive(name string, raw []byte) ([]Event, error) {
	old, known := v.members[name]
	var meta NodeMeta
	err := meta.UnmarshalBinary(raw)
	if err == nil && meta.Name != name {
		err = fmt.Errorf("%w: Name %q differs from memberlist's node name", ErrMeta, meta.Name)
	}
	if err != nil {
		err = fmt.Errorf("cluster: metadata of node %q: %w", name, err)
		if known {
			delete(v.members, name)
			return []Event{{EventDead, old.meta.clone()}}, err
		}
		return nil, err
	}
	entry := viewEntry{meta: meta, raw: bytes.Clone(raw)}
	switch {
	case !known:
		v.members[name] = entry
		return []Event{{EventJoin, meta.clone()}}, nil
	case old.meta.Incarnation != meta.Incarnation:
		v.members[name] = entry
		return []Event{{EventDead, old.meta.clone()}, {EventJoin, meta.clone()}}, nil
	case bytes.Equal(old.raw, raw):
		return nil, nil
	default:
		v.members[name] = entry
		return []Event{{EventUpdate, meta.clone()}}, nil
	}
}

// gone records that memberlist declared the node name dead or left: a
// leave if the member had announced it, a death otherwise. An unknown name
// (never decoded, or already gone) is nothing.
func (v *view) gone(name string) []Event {
	old, known := v.members[name]
	if !known {
		return nil
	}
	delete(v.members, name)
	if old.meta.Leaving {
		return []Event{{EventLeave, old.meta.clone()}}
	}
	return []Event{{EventDead, old.meta.clone()}}
}

// list returns copies of the members sorted by name, which is unique.
func (v *view) list() []NodeMeta {
	out := make([]NodeMeta, 0, len(v.members))
	for _, e := range v.members {
		out = append(out, e.meta.clone())
	}
	slices.SortFunc(out, func(a, b NodeMeta) int { return strings.Compare(a.Name, b.Name) })
	return out
}
