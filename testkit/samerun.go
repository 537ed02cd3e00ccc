package testkit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// SameRunReport compares the output of a run with failures to that of a
// clean run (one without failures), as multisets: for aggregated output
// (window results, sessions, running counts), whose records carry no id
// of the input records they came from, exactly-once means that every
// result comes out as often as in the clean run, in any order. Records
// are compared by their whole value, as reflect.DeepEqual compares them:
// unexported fields included, pointers followed (a nil slice or map
// equals an empty one).
type SameRunReport struct {
	Clean, Got int // records of each run
	Missing    int // records of the clean run that the other lacks (counted with multiplicity)
	Extra      int // records of the other run beyond the clean run's (duplicates, wrong values)
	// Examples of each, printed with %+v, with how many are missing or
	// extra.
	MissingExamples, ExtraExamples []string
}

// OK reports whether the two runs committed the same multiset.
func (r SameRunReport) OK() bool { return r.Missing == 0 && r.Extra == 0 }

// String summarises the report for test messages.
func (r SameRunReport) String() string {
	if r.OK() {
		return fmt.Sprintf("the same %d records as the clean run", r.Got)
	}
	return fmt.Sprintf("%d records, the clean run %d: %d missing %s, %d extra %s",
		r.Got, r.Clean, r.Missing, strings.Join(r.MissingExamples, " "), r.Extra, strings.Join(r.ExtraExamples, " "))
}

// sameRunExamples is how many records of each kind a report shows.
const sameRunExamples = 5

// CheckSameAsCleanRun compares got, the committed output of a run (with
// failures injected, say), with clean, that of the same pipeline on the
// same input run without failures, as multisets.
func CheckSameAsCleanRun[T any](clean, got []T) SameRunReport {
	want, have := countValues(clean), countValues(got)
	r := SameRunReport{Clean: len(clean), Got: len(got)}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if d := want[k].n - have[k].n; d > 0 {
			r.Missing += d
			r.MissingExamples = appendExample(r.MissingExamples, want[k].shown, d)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if d := have[k].n - want[k].n; d > 0 {
			r.Extra += d
			r.ExtraExamples = appendExample(r.ExtraExamples, have[k].shown, d)
		}
	}
	return r
}

// AssertSameAsCleanRun fails the test unless got equals clean as a
// multiset (CheckSameAsCleanRun): the exactly-once check of aggregated
// output. It returns the report.
func AssertSameAsCleanRun[T any](t testing.TB, clean, got []T) SameRunReport {
	t.Helper()
	r := CheckSameAsCleanRun(clean, got)
	if !r.OK() {
		t.Fatalf("testkit: not the output of the clean run: %v", r)
	}
	return r
}

// counted is how many records of one value there are, and how the first
// prints.
type counted struct {
	n     int
	shown string
}

// countValues counts the records by value (see valueKey).
func countValues[T any](vs []T) map[string]counted {
	counts := make(map[string]counted, len(vs))
	for _, v := range vs {
		k := valueKey(v)
		c, ok := counts[k]
		if !ok {
			c.shown = fmt.Sprintf("%+v", v)
		}
		c.n++
		counts[k] = c
	}
	return counts
}

func appendExample(examples []string, rec string, n int) []string {
	if len(examples) >= sameRunExamples {
		return examples
	}
	if n > 1 {
		rec = fmt.Sprintf("%s×%d", rec, n)
	}
	return append(examples, rec)
}
