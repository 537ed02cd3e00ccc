package persistence

import (
	"encoding/binary"
	"maps"
	"slices"
)

// OperatorSnapshot is the non-keyed state of one operator subtask: named
// lists of opaque entries, such as a source's split positions.
type OperatorSnapshot struct {
	// Lists are split among the subtasks on restore: each entry goes to
	// exactly one new subtask, the one that wrote it if the parallelism
	// is unchanged.
	Lists map[string][][]byte
	// Union lists are given whole, concatenated over all old subtasks, to
	// every new subtask.
	Union map[string][][]byte
}

// Redistribute returns the operator state of newParallelism subtasks from
// that of the old ones: snaps[j] is old subtask j's (nil if it had none),
// so len(snaps) is the old parallelism. As in Flink:
//
//   - at an unchanged parallelism each list stays in place: new subtask i
//     gets old subtask i's entries, in their order. What one subtask held
//     (in-flight input, its watermarks, its splits) is still its own and
//     still leaves on its own channels;
//   - on a rescale the entries of each list, taken in order of old
//     subtask then position, are dealt round robin: entry n goes to new
//     subtask n mod newParallelism;
//   - each union list goes whole, concatenated over the old subtasks, to
//     every new subtask.
//
// Every new snapshot has every name, with an empty list if it got no
// entries. The lists are new; their entries alias those of snaps. It
// returns nil if newParallelism < 1.
func Redistribute(snaps []*OperatorSnapshot, newParallelism int) []*OperatorSnapshot {
	if newParallelism < 1 {
		return nil
	}
	out := make([]*OperatorSnapshot, newParallelism)
	for i := range out {
		out[i] = &OperatorSnapshot{Lists: map[string][][]byte{}, Union: map[string][][]byte{}}
	}
	split := dealList
	if len(snaps) == newParallelism {
		split = keepList
	}
	for _, name := range listNames(snaps, func(s *OperatorSnapshot) map[string][][]byte { return s.Lists }) {
		for i := range out {
			out[i].Lists[name] = [][]byte{}
		}
		split(snaps, name, out)
	}
	for _, name := range listNames(snaps, func(s *OperatorSnapshot) map[string][][]byte { return s.Union }) {
		all := [][]byte{}
		for _, s := range snaps {
			if s != nil {
				all = append(all, s.Union[name]...)
			}
		}
		for i := range out {
			out[i].Union[name] = slices.Clone(all)
		}
	}
	return out
}

// keepList gives each new subtask the named list of the old subtask of
// its index (len(snaps) == len(out)).
func keepList(snaps []*OperatorSnapshot, name string, out []*OperatorSnapshot) {
	for i, s := range snaps {
		if s != nil {
			out[i].Lists[name] = append(out[i].Lists[name], s.Lists[name]...)
		}
	}
}

// dealList deals the entries of the named lists round robin over out.
func dealList(snaps []*OperatorSnapshot, name string, out []*OperatorSnapshot) {
	n := 0
	for _, s := range snaps {
		if s == nil {
			continue
		}
		for _, e := range s.Lists[name] {
			o := out[n%len(out)]
			o.Lists[name] = append(o.Lists[name], e)
			n++
		}
	}
}

// listNames returns the sorted names of the lists that pick selects, over
// all non-nil snaps.
func listNames(snaps []*OperatorSnapshot, pick func(*OperatorSnapshot) map[string][][]byte) []string {
	names := map[string]bool{}
	for _, s := range snaps {
		if s != nil {
			for name := range pick(s) {
				names[name] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(names))
}

// MarshalBinary encodes the snapshot in a Seal(KindOperator, …) envelope:
// Lists then Union, each as
//
//	uvarint number of lists | per list, in name order:
//	uvarint len | name | uvarint number of entries |
//	per entry: uvarint len | entry
func (s *OperatorSnapshot) MarshalBinary() ([]byte, error) {
	p := appendLists(nil, s.Lists)
	p = appendLists(p, s.Union)
	return Seal(KindOperator, p), nil
}

func appendLists(p []byte, lists map[string][][]byte) []byte {
	p = binary.AppendUvarint(p, uint64(len(lists)))
	for _, name := range slices.Sorted(maps.Keys(lists)) {
		p = appendBytes(p, []byte(name))
		p = binary.AppendUvarint(p, uint64(len(lists[name])))
		for _, e := range lists[name] {
			p = appendBytes(p, e)
		}
	}
	return p
}

// UnmarshalOperatorSnapshot decodes and validates a snapshot written by
// OperatorSnapshot.MarshalBinary. The result does not alias b; its maps
// and lists are never nil. The error wraps ErrCorrupt or ErrVersion and
// says what is wrong and where.
func UnmarshalOperatorSnapshot(b []byte) (*OperatorSnapshot, error) {
	p, err := unsealKind(b, KindOperator)
	if err != nil {
		return nil, err
	}
	d := decoder{b: p, ctx: "operator snapshot payload"}
	s := &OperatorSnapshot{Lists: readLists(&d, "list"), Union: readLists(&d, "union list")}
	d.done()
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

func readLists(d *decoder, what string) map[string][][]byte {
	n := d.count("number of "+what+"s", 2)
	lists := make(map[string][][]byte, n)
	for range n {
		start := d.off
		name := string(d.bytes(what + " name"))
		if _, dup := lists[name]; dup && d.err == nil {
			d.off = start
			d.fail("duplicate %s %q", what, name)
		}
		m := d.count("number of entries", 1)
		list := make([][]byte, 0, m)
		for range m {
			list = append(list, slices.Clone(d.bytes("entry")))
		}
		if d.err != nil {
			return nil
		}
		lists[name] = list
	}
	return lists
}
