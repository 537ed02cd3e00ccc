package cluster

import (
	"cmp"
	"strings"
)

// Coordinator returns the member that coordinates the cluster: the oldest
// by StartTime, ties broken by Name, then by Incarnation. Members that are
// Leaving are passed over: they are about to go, so the next one takes
// over as soon as the intent is known. ok is false when no member is left.
//
// It is a pure function of the list, in any order: nodes with the same view
// agree. Views differ for a moment while gossip spreads, so two nodes may
// each believe they coordinate; what a coordinator does must be fenced
// elsewhere (the job store's owner epoch, see DESIGN.md).
func Coordinator(members []NodeMeta) (coord NodeMeta, ok bool) {
	for _, m := range members {
		if m.Leaving {
			continue
		}
		if !ok || olderThan(m, coord) {
			coord, ok = m, true
		}
	}
	return coord.clone(), ok
}

// olderThan orders members for Coordinator: a strict total order on
// (StartTime, Name, Incarnation).
func olderThan(a, b NodeMeta) bool {
	return cmp.Or(
		cmp.Compare(a.StartTime, b.StartTime),
		strings.Compare(a.Name, b.Name),
		cmp.Compare(a.Incarnation, b.Incarnation),
	) < 0
}
