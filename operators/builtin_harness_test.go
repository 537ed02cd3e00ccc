package operators_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// The built-in operators, one subtask each, through the testkit harness.

func TestFlatMap_harness_keepsTimestampPerOutput(t *testing.T) {
	h := testkit.NewHarness(t, func(s operators.Stream[string]) operators.Stream[string] {
		return operators.FlatMap(s, func(line string, emit func(string)) {
			for _, w := range strings.Fields(line) {
				emit(w)
			}
		})
	})
	h.ProcessElement("a b", 5)
	h.ProcessElement("c", 6)
	want := []operators.Element[string]{{Value: "a", Timestamp: 5}, {Value: "b", Timestamp: 5}, {Value: "c", Timestamp: 6}}
	var got []operators.Element[string]
	for _, it := range h.Output() {
		got = append(got, operators.Element[string]{Value: it.Value, Timestamp: it.Timestamp})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("output %v, want %v", got, want)
	}
}

func TestReduce_harness_runningValuePerKeySurvivesRestore(t *testing.T) {
	key := func(s string) string { return s[:1] }
	concat := func(ks operators.KeyedStream[string, string]) operators.Stream[string] {
		return operators.Reduce(ks, func(a, b string) string { return a + b[1:] })
	}
	h := testkit.NewKeyedHarness(t, key, concat)
	h.ProcessElements("a1", "b1", "a2")
	if got := h.Values(); !slices.Equal(got, []string{"a1", "b1", "a12"}) {
		t.Fatalf("Values = %q", got)
	}
	r := testkit.NewKeyedHarness(t, key, concat, testkit.RestoreFrom(h.Snapshot(1)))
	r.ProcessElements("a3", "b2")
	if got := r.Values(); !slices.Equal(got, []string{"a123", "b12"}) {
		t.Fatalf("after restore: %q", got)
	}
	if r.StateEntries() != 2 {
		t.Fatalf("StateEntries = %d", r.StateEntries())
	}
}

func TestUnion_harness_ordersNothingAcrossInputsButKeepsEach(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, func(a, b operators.Stream[int]) operators.Stream[int] {
		return operators.Filter(operators.Union(a, b), func(v int) bool { return v%2 == 1 })
	})
	h.ProcessElement1(1, 1)
	h.ProcessElement2(3, 1)
	h.ProcessElement1(4, 2)
	h.ProcessElement1(5, 2)
	if got := h.Values(); !slices.Equal(got, []int{1, 3, 5}) {
		t.Fatalf("Values = %v", got)
	}
}
