package cluster

import (
	"slices"
	"testing"
)

func TestCoordinator(t *testing.T) {
	at := func(name string, start int64, inc uint64) NodeMeta {
		m := member(name, inc)
		m.StartTime = start
		return m
	}
	leaving := func(m NodeMeta) NodeMeta { m.Leaving = true; return m }
	for _, tc := range []struct {
		name    string
		members []NodeMeta
		want    string // Name#Incarnation; "" for none
	}{
		{"no members", nil, ""},
		{"one member", []NodeMeta{at("a", 5, 1)}, "a#1"},
		{"oldest wins", []NodeMeta{at("a", 5, 1), at("b", 3, 1), at("c", 4, 1)}, "b#1"},
		{"same start: name", []NodeMeta{at("b", 3, 1), at("a", 3, 2), at("c", 3, 1)}, "a#2"},
		{"same start and name: incarnation", []NodeMeta{at("a", 3, 3), at("a", 3, 2)}, "a#2"},
		{"leaving member passed over", []NodeMeta{leaving(at("a", 1, 1)), at("b", 2, 1), at("c", 3, 1)}, "b#1"},
		{"everyone leaving", []NodeMeta{leaving(at("a", 1, 1)), leaving(at("b", 2, 1))}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every order of the list gives the same answer.
			for _, perm := range permutations(tc.members) {
				got, ok := Coordinator(perm)
				switch {
				case tc.want == "" && ok:
					t.Fatalf("Coordinator(%v) = %v, want none", perm, got)
				case tc.want != "" && (!ok || names([]NodeMeta{got})[0] != tc.want):
					t.Fatalf("Coordinator(%v) = %v, %v; want %s", perm, got, ok, tc.want)
				}
			}
		})
	}
}

// permutations returns every order of ms (ms is short).
func permutations(ms []NodeMeta) [][]NodeMeta {
	if len(ms) <= 1 {
		return [][]NodeMeta{slices.Clone(ms)}
	}
	var out [][]NodeMeta
	for i := range ms {
		rest := slices.Concat(ms[:i], ms[i+1:])
		for _, p := range permutations(rest) {
			out = append(out, append([]NodeMeta{ms[i]}, p...))
		}
	}
	return out
}
