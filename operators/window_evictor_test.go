package operators_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

// Evictors as Flink's CountEvictor.of(n, doEvictAfter), TimeEvictor and
// DeltaEvictor (issue 19, item 8), on a global window that fires every
// few records: the window function sees what is left after evicting
// before it, and the window keeps what is left after evicting after it.

func everyN(n int64) operators.WindowOption {
	return operators.WithTrigger(window.NewCountTrigger(n))
}

// fired lists the records of each firing of a listWindow harness.
func fired(vs []string) string { return fmt.Sprint(vs) }

// Evicting after the function: it sees every record, then the window
// keeps the last one for the next firing. Before it, the function sees
// the last one only.
func TestWindow_countEvictor_afterAndBefore(t *testing.T) {
	cases := []struct {
		when window.EvictWhen
		want string
	}{
		{window.AfterFunction, "[aglobal[1 2 3] aglobal[3 4 5 6]]"},
		{window.BeforeFunction, "[aglobal[3] aglobal[6]]"},
	}
	for _, c := range cases {
		t.Run(c.when.String(), func(t *testing.T) {
			h := processHarness(t, window.Global(), everyN(3), operators.WithEvictor(window.NewCountEvictor(1, c.when)))
			for v := range int64(6) {
				h.ProcessElement(ev{"a", v + 1}, operators.NoTimestamp)
			}
			if got := fired(h.Values()); got != c.want {
				t.Fatalf("fired %s, want %s", got, c.want)
			}
		})
	}
}

// The time evictor keeps the records within its size of the window's
// highest timestamp, whatever their order: 12 and 0 are at or below
// 25 − 10.
func TestWindow_timeEvictor(t *testing.T) {
	h := processHarness(t, window.Global(), everyN(4),
		operators.WithEvictor(window.NewTimeEvictor(ms(10), window.BeforeFunction)))
	for _, ts := range []int64{12, 0, 25, 20} {
		h.ProcessElement(ev{"a", ts}, ts)
	}
	if got := fired(h.Values()); got != "[aglobal[25 20]]" {
		t.Fatalf("fired %s, want [aglobal[25 20]]", got)
	}
}

// Evicting after the function, the time evictor keeps for the next
// firing what is recent enough: after [0 12 20], 12 and 20 (above
// 20 − 15); after the second firing, what is above 33 − 15; after the
// third, what is above 41 − 15.
func TestWindow_timeEvictor_after(t *testing.T) {
	h := processHarness(t, window.Global(), everyN(3),
		operators.WithEvictor(window.NewTimeEvictor(ms(15), window.AfterFunction)))
	for _, ts := range []int64{0, 12, 20, 25, 31, 33, 40, 41, 50} {
		h.ProcessElement(ev{"a", ts}, ts)
	}
	want := "[aglobal[0 12 20] aglobal[12 20 25 31 33] aglobal[20 25 31 33 40 41 50]]"
	if got := fired(h.Values()); got != want {
		t.Fatalf("fired %s, want %s", got, want)
	}
}

// The delta evictor drops the records whose delta to the last record is
// at least the threshold: with |a − b| and 5, 1 (9 from 10) and 4 (6).
func TestWindow_deltaEvictor(t *testing.T) {
	delta := func(a, b ev) float64 { return math.Abs(float64(a.V - b.V)) }
	h := processHarness(t, window.Global(), everyN(4),
		operators.WithElementEvictor(window.NewDeltaEvictor(5, delta, window.BeforeFunction)))
	for _, v := range []int64{1, 8, 4, 10} {
		h.ProcessElement(ev{"a", v}, operators.NoTimestamp)
	}
	if got := fired(h.Values()); got != "[aglobal[8 10]]" {
		t.Fatalf("fired %s, want [aglobal[8 10]]", got)
	}
}

// Reduce and aggregate functions with an evictor see what is left too.
func TestWindow_evictor_reduceAndAggregate(t *testing.T) {
	evict := operators.WithEvictor(window.NewCountEvictor(2, window.BeforeFunction))
	r := reduceHarness(t, window.Global(), everyN(3), evict)
	for v := range int64(3) {
		r.ProcessElement(ev{"a", v + 1}, operators.NoTimestamp)
	}
	if got := fmt.Sprint(r.Values()); got != "[{a 5}]" {
		t.Fatalf("reduce fired %s, want [{a 5}]", got)
	}
	a := testkit.NewKeyedHarness(t, evKey, func(ks operators.KeyedStream[ev, string]) operators.Stream[winSum] {
		return operators.AggregateWindowWith(operators.Window(ks, window.Global(), everyN(3), evict), sumAgg, sumResult)
	})
	for v := range int64(3) {
		a.ProcessElement(ev{"a", v + 1}, operators.NoTimestamp)
	}
	if got := a.Values(); len(got) != 1 || got[0].Sum != 5 {
		t.Fatalf("aggregate fired %v, want a sum of 5", got)
	}
}

// A window the evictor empties before the function still calls it, with
// no records, as Flink's evicting operator does; emptied after the
// function, it is dropped, and the next firing sees only what came
// after.
func TestWindow_evictorEmptiesTheWindow(t *testing.T) {
	for _, c := range []struct {
		when window.EvictWhen
		want string
	}{
		{window.BeforeFunction, "[aglobal[] aglobal[]]"},
		{window.AfterFunction, "[aglobal[1 2] aglobal[3 4]]"},
	} {
		t.Run(c.when.String(), func(t *testing.T) {
			all := window.NewDeltaEvictor(0, func(a, b ev) float64 { return 0 }, c.when)
			h := processHarness(t, window.Global(), everyN(2), operators.WithElementEvictor(all))
			for v := range int64(4) {
				h.ProcessElement(ev{"a", v + 1}, operators.NoTimestamp)
			}
			if got := fired(h.Values()); got != c.want {
				t.Fatalf("fired %s, want %s", got, c.want)
			}
			if n := h.StateEntries(); n != 0 {
				t.Fatalf("%d state entries after everything was evicted", n)
			}
		})
	}
}

// The evictors see the operator's records without timestamps as such.
func TestWindow_noTimestampIsTheSame(t *testing.T) {
	if operators.NoTimestamp != window.NoTimestamp {
		t.Fatalf("operators.NoTimestamp %d, window.NoTimestamp %d", operators.NoTimestamp, window.NoTimestamp)
	}
}
