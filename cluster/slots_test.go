package cluster

import (
	"errors"
	"slices"
	"testing"
)

func slotMember(name string, slots int) NodeMeta {
	return NodeMeta{Name: name, Slots: slots, Incarnation: uint64(len(name)) + 1}
}

func slotNames(ms []NodeMeta) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func TestSlotTable_place(t *testing.T) {
	a, b, c := slotMember("a", 2), slotMember("b", 2), slotMember("c", 4)
	cases := []struct {
		name    string
		members []NodeMeta
		before  map[string]int // run → slots placed first
		n       int
		want    []string
		wantErr bool
	}{
		{name: "round robin in name order", members: []NodeMeta{c, a, b}, n: 6, want: []string{"a", "b", "c", "a", "b", "c"}},
		{name: "fewer slots than members", members: []NodeMeta{a, b, c}, n: 2, want: []string{"a", "b"}},
		{name: "full members are skipped", members: []NodeMeta{a, b, c}, n: 7, want: []string{"a", "b", "c", "a", "b", "c", "c"}},
		{name: "not enough", members: []NodeMeta{a, b}, n: 5, wantErr: true},
		{name: "counts earlier runs", members: []NodeMeta{a, b, c}, before: map[string]int{"r0": 6}, n: 2, want: []string{"c", "c"}},
		{name: "earlier runs leave too little", members: []NodeMeta{a, b, c}, before: map[string]int{"r0": 6}, n: 3, wantErr: true},
		{name: "no members", n: 1, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newSlotTable()
			for run, n := range tc.before {
				if _, err := st.place(run, n, tc.members); err != nil {
					t.Fatal(err)
				}
			}
			got, err := st.place("r1", tc.n, tc.members)
			if tc.wantErr {
				if !errors.Is(err, errNoSlots) {
					t.Fatalf("err %v, want errNoSlots", err)
				}
				if st.free(tc.members) != freeBefore(tc.members, tc.before) {
					t.Fatalf("a failed placement took slots")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(slotNames(got), tc.want) {
				t.Fatalf("placed on %v, want %v", slotNames(got), tc.want)
			}
		})
	}
}

func freeBefore(members []NodeMeta, before map[string]int) int {
	n := 0
	for _, m := range members {
		n += m.Slots
	}
	for _, k := range before {
		n -= k
	}
	return n
}

func TestSlotTable_releaseAndForget(t *testing.T) {
	a, b := slotMember("a", 2), slotMember("b", 2)
	members := []NodeMeta{a, b}
	st := newSlotTable()
	if _, err := st.place("r1", 3, members); err != nil {
		t.Fatal(err)
	}
	if _, err := st.place("r2", 1, members); err != nil {
		t.Fatal(err)
	}
	if got := st.runsOn(b); !slices.Equal(got, []string{"r1", "r2"}) {
		t.Fatalf("runs on b %v", got)
	}
	st.release("r1")
	if st.free(members) != 3 || st.usedOn(b) != 1 {
		t.Fatalf("after release: free %d, used on b %d", st.free(members), st.usedOn(b))
	}
	st.forget(b)
	if st.free(members) != 4 || len(st.runsOn(b)) != 0 {
		t.Fatalf("after forget: free %d, runs on b %v", st.free(members), st.runsOn(b))
	}
	// The same node restarted is another member: nothing of the old one counts.
	b2 := b
	b2.Incarnation++
	st.take(b, "r3")
	if st.usedOn(b2) != 0 {
		t.Fatalf("a new incarnation inherited slots")
	}
}
