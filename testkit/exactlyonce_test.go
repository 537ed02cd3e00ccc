package testkit

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// rec is a committed record of the checker's tests: its id and a key.
type rec struct {
	Src string
	Seq int64
	Key int
}

func recID(r rec) RecordID { return RecordID{Source: r.Src, Seq: r.Seq} }

func recs(src string, seqs ...int64) []rec {
	out := make([]rec, len(seqs))
	for i, s := range seqs {
		out[i] = rec{Src: src, Seq: s, Key: int(s % 2)}
	}
	return out
}

func TestCheckExactlyOnce(t *testing.T) {
	byKey := InOrderBy(func(r rec) int { return r.Key })
	tests := []struct {
		name      string
		sent      map[string][]int64
		committed []rec
		opts      []CheckOption[rec]
		want      Report // Sources not compared
		wantSrc   SourceReport
	}{
		{
			name:      "exactly once",
			sent:      map[string][]int64{"a": {1, 2, 3}},
			committed: recs("a", 3, 1, 2),
			want:      Report{Sent: 3, Committed: 3},
			wantSrc:   SourceReport{Source: "a", Sent: 3, Committed: 3},
		},
		{
			name:      "lost",
			sent:      map[string][]int64{"a": {1, 2, 3, 4}},
			committed: recs("a", 1, 3),
			want:      Report{Sent: 4, Committed: 2, Lost: 2},
			wantSrc:   SourceReport{Source: "a", Sent: 4, Committed: 2, Lost: []int64{2, 4}},
		},
		{
			name:      "duplicated",
			sent:      map[string][]int64{"a": {1, 2, 3}},
			committed: recs("a", 1, 2, 1, 3, 2, 1),
			want:      Report{Sent: 3, Committed: 6, Duplicated: 2},
			wantSrc: SourceReport{Source: "a", Sent: 3, Committed: 6,
				Duplicated: []Duplicate{{Seq: 1, Count: 3}, {Seq: 2, Count: 2}}},
		},
		{
			name:      "unexpected",
			sent:      map[string][]int64{"a": {1}},
			committed: recs("a", 1, 9, 9, 7),
			want:      Report{Sent: 1, Committed: 4, Unexpected: 2},
			wantSrc:   SourceReport{Source: "a", Sent: 1, Committed: 4, Unexpected: []int64{9, 7}},
		},
		{
			name:      "out of order",
			sent:      map[string][]int64{"a": {1, 2, 3}},
			committed: recs("a", 1, 3, 2),
			opts:      []CheckOption[rec]{InOrder[rec]()},
			want:      Report{Sent: 3, Committed: 3, OutOfOrder: 1},
			wantSrc: SourceReport{Source: "a", Sent: 3, Committed: 3,
				OutOfOrder: []OrderViolation{{Source: "a", Partition: "{}", Seq: 2, After: 3}}},
		},
		{
			name:      "order unchecked by default",
			sent:      map[string][]int64{"a": {1, 2, 3}},
			committed: recs("a", 3, 2, 1),
			want:      Report{Sent: 3, Committed: 3},
			wantSrc:   SourceReport{Source: "a", Sent: 3, Committed: 3},
		},
		{
			name:      "order per partition",
			sent:      map[string][]int64{"a": {1, 2, 3, 4}},
			committed: recs("a", 2, 4, 1, 3), // keys 0, 0, 1, 1: each in order
			opts:      []CheckOption[rec]{byKey},
			want:      Report{Sent: 4, Committed: 4},
			wantSrc:   SourceReport{Source: "a", Sent: 4, Committed: 4},
		},
		{
			name:      "out of order within a partition",
			sent:      map[string][]int64{"a": {1, 2, 3, 4}},
			committed: recs("a", 4, 2, 1, 3),
			opts:      []CheckOption[rec]{byKey},
			want:      Report{Sent: 4, Committed: 4, OutOfOrder: 1},
			wantSrc: SourceReport{Source: "a", Sent: 4, Committed: 4,
				OutOfOrder: []OrderViolation{{Source: "a", Partition: "0", Seq: 2, After: 4}}},
		},
		{
			name:      "order follows the sent sequence, not seq values",
			sent:      map[string][]int64{"a": {30, 10, 20}},
			committed: recs("a", 30, 10, 20),
			opts:      []CheckOption[rec]{InOrder[rec]()},
			want:      Report{Sent: 3, Committed: 3},
			wantSrc:   SourceReport{Source: "a", Sent: 3, Committed: 3},
		},
		{
			name:      "replay is duplicated, not out of order",
			sent:      map[string][]int64{"a": {1, 2, 3}},
			committed: recs("a", 1, 2, 1, 2, 3),
			opts:      []CheckOption[rec]{InOrder[rec]()},
			want:      Report{Sent: 3, Committed: 5, Duplicated: 2},
			wantSrc: SourceReport{Source: "a", Sent: 3, Committed: 5,
				Duplicated: []Duplicate{{Seq: 1, Count: 2}, {Seq: 2, Count: 2}}},
		},
		{
			name:      "repeated sent ids count once",
			sent:      map[string][]int64{"a": {1, 1, 2}},
			committed: recs("a", 1, 2),
			want:      Report{Sent: 2, Committed: 2},
			wantSrc:   SourceReport{Source: "a", Sent: 2, Committed: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckExactlyOnce(tt.sent, tt.committed, recID, tt.opts...)
			if len(got.Sources) != 1 || !reflect.DeepEqual(got.Sources[0], tt.wantSrc) {
				t.Errorf("sources = %+v, want [%+v]", got.Sources, tt.wantSrc)
			}
			got.Sources = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("totals = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckExactlyOnce_sourcesSortedAndUnknownSource(t *testing.T) {
	sent := map[string][]int64{"b": {1}, "a": {1}}
	committed := append(recs("b", 1), append(recs("z", 5), recs("a", 1)...)...)
	rep := CheckExactlyOnce(sent, committed, recID)
	var names []string
	for _, s := range rep.Sources {
		names = append(names, s.Source)
	}
	if want := []string{"a", "b", "z"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("sources %v, want %v", names, want)
	}
	if z := rep.Sources[2]; z.Sent != 0 || !reflect.DeepEqual(z.Unexpected, []int64{5}) || rep.Unexpected != 1 {
		t.Fatalf("unknown source reported as %+v (total unexpected %d)", z, rep.Unexpected)
	}
}

func TestReport_OKAndAtLeastOnce(t *testing.T) {
	tests := []struct {
		rep             Report
		ok, atLeastOnce bool
	}{
		{Report{}, true, true},
		{Report{Duplicated: 1}, false, true},
		{Report{Lost: 1}, false, false},
		{Report{Unexpected: 1}, false, false},
		{Report{OutOfOrder: 1}, false, false},
	}
	for _, tt := range tests {
		if tt.rep.OK() != tt.ok || tt.rep.AtLeastOnce() != tt.atLeastOnce {
			t.Errorf("%+v: OK %v AtLeastOnce %v, want %v %v", tt.rep, tt.rep.OK(), tt.rep.AtLeastOnce(), tt.ok, tt.atLeastOnce)
		}
	}
}

func TestReport_String(t *testing.T) {
	sent := map[string][]int64{"gen": SeqRange(0, 20)}
	ok := CheckExactlyOnce(sent, recs("gen", SeqRange(0, 20)...), recID)
	if got, want := ok.String(), "20 sent, 20 committed: exactly once"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	committed := append(recs("gen", SeqRange(0, 12)...), recs("gen", 0, 1, 42)...)
	bad := CheckExactlyOnce(sent, committed, recID)
	want := "20 sent, 15 committed: 8 lost, 2 duplicated, 1 unexpected, 0 out of order\n" +
		`  source "gen": lost 12, 13, 14, 15, 16 and 3 more; duplicated 0 (×2), 1 (×2); unexpected 42`
	if got := bad.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}

func TestReport_String_orderViolation(t *testing.T) {
	rep := CheckExactlyOnce(map[string][]int64{"a": {1, 2, 3, 4}}, recs("a", 4, 2, 1, 3), recID,
		InOrderBy(func(r rec) int { return r.Key }))
	if want := `source "a": out of order 2 after 4 (partition 0)`; !strings.Contains(rep.String(), want) {
		t.Errorf("String() = %q, want it to contain %q", rep.String(), want)
	}
}

func TestAssertExactlyOnce(t *testing.T) {
	sent := map[string][]int64{"a": {1, 2}}
	if rep := AssertExactlyOnce(t, sent, recs("a", 2, 1), recID); !rep.OK() {
		t.Fatalf("report %v not OK", rep)
	}
	msg := failure(t, func(tb testing.TB) { AssertExactlyOnce(tb, sent, recs("a", 1, 1), recID) })
	wantContains(t, msg, "not exactly once", "1 lost", "1 duplicated", `source "a"`, "lost 2", "1 (×2)")
}

func TestAssertAtLeastOnce(t *testing.T) {
	sent := map[string][]int64{"a": {1, 2}}
	rep := AssertAtLeastOnce(t, sent, recs("a", 1, 2, 1, 2), recID, InOrder[rec]())
	if rep.Duplicated != 2 {
		t.Fatalf("duplicated = %d, want 2", rep.Duplicated)
	}
	msg := failure(t, func(tb testing.TB) { AssertAtLeastOnce(tb, sent, recs("a", 1, 1), recID) })
	wantContains(t, msg, "not at least once", "1 lost", "lost 2")
}

func TestSeqRange(t *testing.T) {
	for _, tt := range []struct {
		from, to int64
		want     []int64
	}{{0, 3, []int64{0, 1, 2}}, {5, 5, []int64{}}, {5, 2, []int64{}}} {
		if got := SeqRange(tt.from, tt.to); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SeqRange(%d, %d) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func ExampleCheckExactlyOnce() {
	type event struct {
		Sensor string
		Seq    int64
	}
	sent := map[string][]int64{"s1": {0, 1, 2}, "s2": {0, 1}}
	committed := []event{{"s1", 0}, {"s1", 1}, {"s2", 0}, {"s1", 1}, {"s2", 1}}
	rep := CheckExactlyOnce(sent, committed, func(e event) RecordID { return RecordID{e.Sensor, e.Seq} })
	fmt.Println(rep)
	// Output:
	// 5 sent, 5 committed: 1 lost, 1 duplicated, 0 unexpected, 0 out of order
	//   source "s1": lost 2; duplicated 1 (×2)
}
