package cluster

import (
	"fmt"
	"slices"
	"strings"
)

// slotTable is the coordinator's account of the slots in use on each
// member, by job run. It is pure bookkeeping: no goroutines, no I/O; its
// owner (the job service) serialises the calls. Members are told apart by
// incarnation (NodeMeta.String), so a node that restarts starts with all
// its slots free and nothing of its old process is counted against it.
type slotTable struct {
	used map[string]map[string]int // member → run → slots held
}

func newSlotTable() *slotTable { return &slotTable{used: map[string]map[string]int{}} }

// usedOn returns the slots held on member m.
func (t *slotTable) usedOn(m NodeMeta) int {
	n := 0
	for _, k := range t.used[m.String()] {
		n += k
	}
	return n
}

// free returns how many slots are free over members.
func (t *slotTable) free(members []NodeMeta) int {
	n := 0
	for _, m := range members {
		n += max(m.Slots-t.usedOn(m), 0)
	}
	return n
}

// place takes n slots for run, spread round robin over the members with
// free slots in name order, and returns the member of each slot (slot i
// runs subtask i of every vertex). A job at a parallelism of at least the
// number of members thus gets subtasks on every member. Without n free
// slots it takes nothing and returns an error wrapping errNoSlots.
func (t *slotTable) place(run string, n int, members []NodeMeta) ([]NodeMeta, error) {
	if free := t.free(members); free < n {
		return nil, fmt.Errorf("%w: run %s needs %d, %d free on %d members", errNoSlots, run, n, free, len(members))
	}
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b NodeMeta) int { return strings.Compare(a.Name, b.Name) })
	left := make([]int, len(ms))
	for i, m := range ms {
		left[i] = max(m.Slots-t.usedOn(m), 0)
	}
	out := make([]NodeMeta, 0, n)
	for i := 0; len(out) < n; i = (i + 1) % len(ms) {
		if left[i] == 0 {
			continue
		}
		left[i]--
		out = append(out, ms[i])
		t.take(ms[i], run)
	}
	return out, nil
}

func (t *slotTable) take(m NodeMeta, run string) {
	k := m.String()
	if t.used[k] == nil {
		t.used[k] = map[string]int{}
	}
	t.used[k][run]++
}

// release frees every slot run holds.
func (t *slotTable) release(run string) {
	for k, runs := range t.used {
		delete(runs, run)
		if len(runs) == 0 {
			delete(t.used, k)
		}
	}
}

// forget drops what member m held: it is gone, and its slots with it.
func (t *slotTable) forget(m NodeMeta) { delete(t.used, m.String()) }

// runsOn returns the runs that hold slots on member m, sorted.
func (t *slotTable) runsOn(m NodeMeta) []string {
	var runs []string
	for r := range t.used[m.String()] {
		runs = append(runs, r)
	}
	slices.Sort(runs)
	return runs
}
