package cluster

import (
	"fmt"

	"github.com/hashicorp/memberlist"
)

// hooks receives memberlist's callbacks for a Membership. Memberlist calls
// the event and conflict methods while it holds its node lock, and
// NodeMeta from its own goroutines: none of them may block or call back
// into memberlist. They take Membership.mu only briefly.
type hooks struct{ m *Membership }

var (
	_ memberlist.Delegate         = hooks{}
	_ memberlist.EventDelegate    = hooks{}
	_ memberlist.ConflictDelegate = hooks{}
)

// NodeMeta returns the encoded local metadata, never over MaxMetaSize
// (memberlist's limit, which it passes as limit).
func (h hooks) NodeMeta(limit int) []byte {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	return h.m.localRaw // replaced, never modified: memberlist may keep it
}

// NotifyMsg, GetBroadcasts, LocalState and MergeRemoteState carry user
// messages and state, which we do not use.
func (hooks) NotifyMsg([]byte)                    {}
func (hooks) GetBroadcasts(int, int) [][]byte     { return nil }
func (hooks) LocalState(bool) []byte              { return nil }
func (hooks) MergeRemoteState(buf []byte, _ bool) {}

func (h hooks) NotifyJoin(n *memberlist.Node)   { h.m.observe(n.Name, n.Meta, true) }
func (h hooks) NotifyUpdate(n *memberlist.Node) { h.m.observe(n.Name, n.Meta, true) }
func (h hooks) NotifyLeave(n *memberlist.Node)  { h.m.observe(n.Name, nil, false) }

// NotifyConflict reports two nodes that claim the same name from different
// addresses; memberlist keeps the one it knew.
func (h hooks) NotifyConflict(existing, other *memberlist.Node) {
	h.m.log.Warn("cluster: two nodes use the same name; ignoring the newer",
		"name", existing.Name, "known", existing.Address(), "other", other.Address())
}

// observe applies one notification to the view and queues the events it
// causes, under mu so that the queue's order is the view's.
func (m *Membership) observe(name string, raw []byte, alive bool) {
	var evs []Event
	var err error
	m.mu.Lock()
	if alive {
		evs, err = m.view.alive(name, raw)
	} else {
		evs = m.view.gone(name)
	}
	m.pump.push(evs...)
	m.mu.Unlock()
	if err != nil {
		m.log.Warn("cluster: member with unusable metadata", "member", name, "err", err)
	}
	for _, ev := range evs {
		m.logEvent(ev)
	}
}

func (m *Membership) logEvent(ev Event) {
	attrs := []any{"member", ev.Node.Name, "incarnation", fmt.Sprintf("%016x", ev.Node.Incarnation),
		"addr", ev.Node.GossipAddr}
	if ev.Type == EventUpdate {
		m.log.Debug("cluster: member updated", append(attrs, "slots", ev.Node.Slots, "leaving", ev.Node.Leaving)...)
		return
	}
	m.log.Info("cluster: member "+ev.Type.String(), attrs...)
}
