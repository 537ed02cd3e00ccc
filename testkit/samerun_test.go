package testkit

import (
	"testing"
)

type total struct {
	Key string
	Sum int
}

// The output of a run with failures equals a clean run's as a multiset:
// order does not matter, a missing or a repeated record does (issue 18,
// item 7).
func TestAssertSameAsCleanRun(t *testing.T) {
	clean := []total{{"a", 1}, {"b", 2}, {"a", 1}}
	AssertSameAsCleanRun(t, clean, []total{{"a", 1}, {"a", 1}, {"b", 2}})
	msg := failure(t, func(tb testing.TB) {
		AssertSameAsCleanRun(tb, clean, []total{{"a", 1}, {"b", 2}, {"b", 2}, {"c", 3}})
	})
	wantContains(t, msg, "1 missing", `{"Key":"a","Sum":1}`, "2 extra", `{"Key":"b","Sum":2}`, `{"Key":"c","Sum":3}`)
}

func TestCheckSameAsCleanRun_report(t *testing.T) {
	r := CheckSameAsCleanRun([]int{1, 2, 2, 3}, []int{2, 3, 3, 4})
	if r.OK() || r.Missing != 2 || r.Extra != 2 || r.Clean != 4 || r.Got != 4 {
		t.Fatalf("report %+v: want 2 missing (1, 2) and 2 extra (3, 4)", r)
	}
	if r := CheckSameAsCleanRun([]int{3, 1}, []int{1, 3}); !r.OK() {
		t.Fatalf("same multiset reported %v", r)
	}
}
