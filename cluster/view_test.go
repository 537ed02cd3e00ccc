package cluster

import (
	"errors"
	"slices"
	"testing"
)

// note is one memberlist notification fed to the view.
type note struct {
	name  string
	meta  *NodeMeta // alive with this metadata; nil: gone
	raw   []byte    // alive with these bytes instead of meta
	alive bool
}

func aliveNote(m NodeMeta) note          { return note{name: m.Name, meta: &m, alive: true} }
func rawNote(name string, b []byte) note { return note{name: name, raw: b, alive: true} }
func goneNote(name string) note          { return note{name: name} }

// member returns a valid NodeMeta named name, of the given incarnation.
func member(name string, inc uint64) NodeMeta {
	return NodeMeta{Name: name, GossipAddr: "127.0.0.1:7946", StartTime: 100, Incarnation: inc}
}

func with(m NodeMeta, f func(*NodeMeta)) NodeMeta { m = m.clone(); f(&m); return m }

func TestView_transitions(t *testing.T) {
	a1, a2, b1 := member("a", 1), member("a", 2), member("b", 1)
	a1slots := with(a1, func(m *NodeMeta) { m.Slots = 4 })
	a1leaving := with(a1, func(m *NodeMeta) { m.Leaving = true })
	renamed := with(a1, func(m *NodeMeta) { m.Name = "z" })
	for _, tc := range []struct {
		name    string
		notes   []note
		last    []Event // the events of the last note
		lastErr bool    // whether the last note returns an error
		members []string
	}{
		{"join", []note{aliveNote(a1)}, []Event{{EventJoin, a1}}, false, []string{"a#1"}},
		{"same metadata twice", []note{aliveNote(a1), aliveNote(a1)}, nil, false, []string{"a#1"}},
		{"update", []note{aliveNote(a1), aliveNote(a1slots)}, []Event{{EventUpdate, a1slots}}, false, []string{"a#1"}},
		{"death", []note{aliveNote(a1), aliveNote(b1), goneNote("a")}, []Event{{EventDead, a1}}, false, []string{"b#1"}},
		{"graceful leave", []note{aliveNote(a1), aliveNote(a1leaving), goneNote("a")},
			[]Event{{EventLeave, a1leaving}}, false, nil},
		{"gone twice", []note{aliveNote(a1), goneNote("a"), goneNote("a")}, nil, false, nil},
		{"gone unknown", []note{goneNote("x")}, nil, false, nil},
		{"back after death", []note{aliveNote(a1), goneNote("a"), aliveNote(a1)}, []Event{{EventJoin, a1}}, false, []string{"a#1"}},
		{"new incarnation replaces the old", []note{aliveNote(a1), aliveNote(a2)},
			[]Event{{EventDead, a1}, {EventJoin, a2}}, false, []string{"a#2"}},
		{"new incarnation after the old left", []note{aliveNote(a1leaving), goneNote("a"), aliveNote(a2)},
			[]Event{{EventJoin, a2}}, false, []string{"a#2"}},
		{"garbage from a stranger", []note{rawNote("x", []byte("junk"))}, nil, true, nil},
		{"garbage from a member", []note{aliveNote(a1), rawNote("a", []byte("junk"))}, []Event{{EventDead, a1}}, true, nil},
		{"metadata naming another node", []note{note{name: "a", meta: &renamed, alive: true}}, nil, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newView()
			var evs []Event
			var err error
			for _, n := range tc.notes {
				evs, err = v.apply(t, n)
			}
			if (err != nil) != tc.lastErr {
				t.Fatalf("error %v, want error: %v", err, tc.lastErr)
			}
			if err != nil && !errors.Is(err, ErrMeta) {
				t.Fatalf("error %v does not wrap ErrMeta", err)
			}
			if !slices.EqualFunc(evs, tc.last, func(a, b Event) bool { return a.Type == b.Type && a.Node.Equal(b.Node) }) {
				t.Fatalf("events %v, want %v", evs, tc.last)
			}
			if got := names(v.list()); !slices.Equal(got, tc.members) {
				t.Fatalf("members %v, want %v", got, tc.members)
			}
		})
	}
}

// apply feeds a note to the view.
func (v *view) apply(t *testing.T, n note) ([]Event, error) {
	t.Helper()
	if !n.alive {
		return v.gone(n.name), nil
	}
	raw := n.raw
	if n.meta != nil {
		var err error
		if raw, err = n.meta.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	}
	return v.alive(n.name, raw)
}

// names returns name#incarnation of each member, incarnations in decimal.
func names(ms []NodeMeta) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name+"#"+string(rune('0'+m.Incarnation)))
	}
	return out
}

func TestView_list_sortedAndIsolated(t *testing.T) {
	v := newView()
	for _, name := range []string{"c", "a", "b"} {
		m := with(member(name, 1), func(m *NodeMeta) { m.Extra = map[string]string{"k": "v"} })
		if _, err := v.apply(t, aliveNote(m)); err != nil {
			t.Fatal(err)
		}
	}
	list := v.list()
	if got := names(list); !slices.Equal(got, []string{"a#1", "b#1", "c#1"}) {
		t.Fatalf("members %v, want sorted by name", got)
	}
	list[0].Extra["k"] = "changed"
	if got := v.list()[0].Extra["k"]; got != "v" {
		t.Fatalf("changing a listed member changed the view: Extra[k] = %q", got)
	}
}
