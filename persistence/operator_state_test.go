package persistence

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"
)

// entries returns [][]byte of the given strings.
func entries(ss ...string) [][]byte {
	out := [][]byte{}
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

func opSnap(lists, union map[string][][]byte) *OperatorSnapshot {
	if lists == nil {
		lists = map[string][][]byte{}
	}
	if union == nil {
		union = map[string][][]byte{}
	}
	return &OperatorSnapshot{Lists: lists, Union: union}
}

func TestRedistribute_cases(t *testing.T) {
	tests := []struct {
		name string
		in   []*OperatorSnapshot
		n    int
		want []*OperatorSnapshot
	}{
		{"splitRoundRobin", []*OperatorSnapshot{
			opSnap(map[string][][]byte{"pos": entries("a", "b")}, nil),
			opSnap(map[string][][]byte{"pos": entries("c", "d", "e")}, nil),
		}, 3, []*OperatorSnapshot{
			opSnap(map[string][][]byte{"pos": entries("a", "d")}, nil),
			opSnap(map[string][][]byte{"pos": entries("b", "e")}, nil),
			opSnap(map[string][][]byte{"pos": entries("c")}, nil),
		}},
		{"merge", []*OperatorSnapshot{
			opSnap(map[string][][]byte{"pos": entries("a")}, nil),
			nil,
			opSnap(map[string][][]byte{"pos": entries("b"), "other": entries("x")}, nil),
		}, 1, []*OperatorSnapshot{
			opSnap(map[string][][]byte{"pos": entries("a", "b"), "other": entries("x")}, nil),
		}},
		{"fewerEntriesThanSubtasks", []*OperatorSnapshot{
			opSnap(map[string][][]byte{"pos": entries("a")}, nil),
		}, 2, []*OperatorSnapshot{
			opSnap(map[string][][]byte{"pos": entries("a")}, nil),
			opSnap(map[string][][]byte{"pos": entries()}, nil),
		}},
		{"union", []*OperatorSnapshot{
			opSnap(nil, map[string][][]byte{"u": entries("a")}),
			opSnap(nil, map[string][][]byte{"u": entries("b", "c")}),
		}, 2, []*OperatorSnapshot{
			opSnap(nil, map[string][][]byte{"u": entries("a", "b", "c")}),
			opSnap(nil, map[string][][]byte{"u": entries("a", "b", "c")}),
		}},
		{"zeroParallelism", []*OperatorSnapshot{opSnap(nil, nil)}, 0, nil},
		{"noSnapshots", nil, 2, []*OperatorSnapshot{opSnap(nil, nil), opSnap(nil, nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redistribute(tt.in, tt.n); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %s, want %s", fmtOps(got), fmtOps(tt.want))
			}
		})
	}
}

// The redistribution rule, as Flink's: at an unchanged parallelism every
// subtask gets back exactly its own split lists, however many entries
// each held (so that in-flight input keeps its order and its subtask); on
// a rescale the entries are dealt evenly round robin; union lists go whole
// to every subtask in both cases.
func TestRedistribute_rule(t *testing.T) {
	old := []*OperatorSnapshot{
		opSnap(map[string][][]byte{"pending": entries("a1", "a2", "a3")}, map[string][][]byte{"u": entries("ua")}),
		nil, // a subtask without operator state keeps none
		opSnap(map[string][][]byte{"pending": entries("c1")}, map[string][][]byte{"u": entries("uc")}),
		opSnap(map[string][][]byte{"pending": entries("d1", "d2"), "other": entries("x")}, nil),
	}
	union := map[string][][]byte{"u": entries("ua", "uc")}
	tests := []struct {
		name string
		n    int
		want []*OperatorSnapshot
	}{
		{"equalParallelismInPlace", 4, []*OperatorSnapshot{
			opSnap(map[string][][]byte{"pending": entries("a1", "a2", "a3"), "other": entries()}, union),
			opSnap(map[string][][]byte{"pending": entries(), "other": entries()}, union),
			opSnap(map[string][][]byte{"pending": entries("c1"), "other": entries()}, union),
			opSnap(map[string][][]byte{"pending": entries("d1", "d2"), "other": entries("x")}, union),
		}},
		{"scaleDownRoundRobin", 2, []*OperatorSnapshot{
			opSnap(map[string][][]byte{"pending": entries("a1", "a3", "d1"), "other": entries("x")}, union),
			opSnap(map[string][][]byte{"pending": entries("a2", "c1", "d2"), "other": entries()}, union),
		}},
		{"scaleUpRoundRobin", 5, []*OperatorSnapshot{
			opSnap(map[string][][]byte{"pending": entries("a1", "d2"), "other": entries("x")}, union),
			opSnap(map[string][][]byte{"pending": entries("a2"), "other": entries()}, union),
			opSnap(map[string][][]byte{"pending": entries("a3"), "other": entries()}, union),
			opSnap(map[string][][]byte{"pending": entries("c1"), "other": entries()}, union),
			opSnap(map[string][][]byte{"pending": entries("d1"), "other": entries()}, union),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redistribute(old, tt.n); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %s\nwant %s", fmtOps(got), fmtOps(tt.want))
			}
		})
	}
}

// A list kept in place is a copy: what a restored operator appends to its
// share does not change the snapshot it came from.
func TestRedistribute_inPlaceListsNotShared(t *testing.T) {
	old := []*OperatorSnapshot{opSnap(map[string][][]byte{"pos": entries("a")}, nil)}
	out := Redistribute(old, 1)
	out[0].Lists["pos"] = append(out[0].Lists["pos"][:0], []byte("z"))
	if got := old[0].Lists["pos"]; string(got[0]) != "a" {
		t.Errorf("the old snapshot changed through the new one: %q", got)
	}
}

func fmtOps(ss []*OperatorSnapshot) string {
	var b bytes.Buffer
	for _, s := range ss {
		fmt.Fprintf(&b, "{lists %q union %q} ", s.Lists, s.Union)
	}
	return b.String()
}

func TestRedistribute_unionListsNotShared(t *testing.T) {
	out := Redistribute([]*OperatorSnapshot{opSnap(nil, map[string][][]byte{"u": entries("a")})}, 2)
	out[0].Union["u"] = append(out[0].Union["u"], []byte("x"))
	out[0].Union["u"][0] = []byte("y")
	if got := out[1].Union["u"]; len(got) != 1 || string(got[0]) != "a" {
		t.Errorf("subtask 1's union list changed through subtask 0's: %q", got)
	}
}

func TestOperatorSnapshot_MarshalBinary_roundTrip(t *testing.T) {
	in := opSnap(map[string][][]byte{"pos": entries("a", "", "ccc"), "empty": entries()},
		map[string][][]byte{"u": entries("x"), "": entries("y")})
	b := must(in.MarshalBinary())
	got := must(UnmarshalOperatorSnapshot(b))
	if !reflect.DeepEqual(got, in) {
		t.Errorf("got %s, want %s", fmtOps([]*OperatorSnapshot{got}), fmtOps([]*OperatorSnapshot{in}))
	}
	b[len(b)/2] ^= 0xff // the result must not alias b
	if !reflect.DeepEqual(got, in) {
		t.Error("unmarshalled snapshot aliases its input")
	}
}

func TestUnmarshalOperatorSnapshot_errors(t *testing.T) {
	list := func(name string, es ...string) []byte {
		p := appendBytes(nil, []byte(name))
		p = binary.AppendUvarint(p, uint64(len(es)))
		for _, e := range es {
			p = appendBytes(p, []byte(e))
		}
		return p
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name  string
		in    []byte
		parts []string
	}{
		{"kind", Seal(KindKeyed, []byte{0, 0}), []string{"keyed", "want operator"}},
		{"empty", Seal(KindOperator, nil), []string{"number of lists", "offset 0"}},
		{"noUnion", Seal(KindOperator, []byte{0}), []string{"number of union lists", "offset 1"}},
		{"duplicate", Seal(KindOperator, cat([]byte{2}, list("a"), list("a"), []byte{0})),
			[]string{`duplicate list "a"`, "offset 4"}},
		{"entryCount", Seal(KindOperator, cat([]byte{1}, appendBytes(nil, []byte("a")), []byte{5, 0})),
			[]string{"number of entries 5"}},
		{"trailing", Seal(KindOperator, []byte{0, 0, 7}), []string{"1 trailing bytes", "offset 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalOperatorSnapshot(tt.in)
			wantErr(t, err, ErrCorrupt, tt.parts...)
		})
	}
}

func FuzzUnmarshalOperatorSnapshot(f *testing.F) {
	f.Add(must(opSnap(map[string][][]byte{"pos": entries("a", "b")},
		map[string][][]byte{"u": entries("x")}).MarshalBinary()))
	f.Add(Seal(KindOperator, []byte{0, 0}))
	f.Add([]byte{1, 3, 'p', 'o', 's', 1, 1, 'a', 0})
	f.Add([]byte("TRPS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkOperatorBlob(t, b)
		checkOperatorBlob(t, Seal(KindOperator, b)) // past the checksum
	})
}

// checkOperatorBlob checks that a blob either fails to unmarshal, or
// round-trips and can be redistributed.
func checkOperatorBlob(t *testing.T, b []byte) {
	s, err := UnmarshalOperatorSnapshot(b)
	if err != nil {
		return
	}
	again, err := UnmarshalOperatorSnapshot(must(s.MarshalBinary()))
	if err != nil || !reflect.DeepEqual(again, s) {
		t.Fatalf("re-marshalled snapshot does not round-trip: %v", err)
	}
	for _, n := range []int{1, 2, 3} {
		if got := Redistribute([]*OperatorSnapshot{s, s}, n); len(got) != n {
			t.Fatalf("Redistribute to %d gave %d snapshots", n, len(got))
		}
	}
}
