package operators_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

// ev is a keyed record of the window tests.
type ev struct {
	K string
	V int64
}

func evKey(e ev) string        { return e.K }
func sumEv(a, b ev) ev         { return ev{a.K, a.V + b.V} }
func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// show formats harness output as "value@ts" and events, space separated.
func show[T any](items []testkit.Item[T]) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = it.String()
	}
	return strings.Join(s, " ")
}

func wantOutput[T any](t *testing.T, got []testkit.Item[T], want string) {
	t.Helper()
	if s := show(got); s != want {
		t.Fatalf("output\n got %s\nwant %s", s, want)
	}
}

// listWindow emits "key window elements" for each firing.
func listWindow(ctx *operators.WindowContext[string], elems []ev, out operators.Collector[string]) error {
	vs := make([]int64, len(elems))
	for i, e := range elems {
		vs[i] = e.V
	}
	out.Collect(fmt.Sprintf("%s%v%v", ctx.Key(), ctx.Window(), vs), 0)
	return nil
}

func reduceHarness(t *testing.T, a operators.WindowAssigner, opts ...operators.WindowOption) *testkit.Harness[ev, ev] {
	return testkit.NewKeyedHarness(t, evKey, func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
		return operators.ReduceWindow(operators.Window(ks, a, opts...), sumEv)
	})
}

func processHarness(t *testing.T, a operators.WindowAssigner, opts ...operators.WindowOption) *testkit.Harness[ev, string] {
	return testkit.NewKeyedHarness(t, evKey, func(ks operators.KeyedStream[ev, string]) operators.Stream[string] {
		return operators.ProcessWindow(operators.Window(ks, a, opts...), listWindow)
	})
}

// Checklist Windows 1: tumbling windows are [start, end), fire at end-1.
func TestReduceWindow_tumbling(t *testing.T) {
	h := reduceHarness(t, window.Tumbling(ms(10)))
	h.ProcessElement(ev{"a", 1}, 0)
	h.ProcessElement(ev{"a", 2}, 9)
	h.ProcessElement(ev{"b", 5}, 3)
	h.ProcessElement(ev{"a", 4}, 10)
	h.ProcessWatermark(8)
	h.ProcessWatermark(9)
	wantOutput(t, h.Output(), "watermark(8) {a 3}@9 {b 5}@9 watermark(9)")
	h.EndInput()
	wantOutput(t, h.Output(), "watermark(8) {a 3}@9 {b 5}@9 watermark(9) {a 4}@19 watermark(max)")
	if h.Timers() != 0 || h.StateEntries() != 0 {
		t.Fatalf("after end: timers %d, state entries %d", h.Timers(), h.StateEntries())
	}
}

type winSum struct {
	K          string
	Start, End int64
	Sum        int64
}

var sumAgg = operators.Aggregate(
	func() int64 { return 0 },
	func(acc int64, e ev) int64 { return acc + e.V },
	func(a, b int64) int64 { return a + b },
	func(acc int64) int64 { return acc })

// sumResult gives a window's sum with its key and bounds.
func sumResult(ctx *operators.WindowContext[string], acc int64, out operators.Collector[winSum]) error {
	out.Collect(winSum{ctx.Key(), ctx.Window().Start, ctx.Window().End, acc}, 0)
	return nil
}

// Checklist Windows 1: sliding windows with an aggregate function.
func TestAggregateWindow_sliding(t *testing.T) {
	h := testkit.NewKeyedHarness(t, evKey, func(ks operators.KeyedStream[ev, string]) operators.Stream[winSum] {
		return operators.AggregateWindowWith(operators.Window(ks, window.Sliding(ms(10), ms(5))), sumAgg, sumResult)
	})
	h.ProcessElement(ev{"a", 1}, 7)
	h.ProcessElement(ev{"a", 2}, 12)
	h.EndInput()
	wantOutput(t, h.Output(), "{a 0 10 1}@9 {a 5 15 3}@14 {a 10 20 2}@19 watermark(max)")
}

// Checklist Windows 1 and 2: session windows with a process function;
// point sessions, and sessions merged by a record bridging two.
func TestProcessWindow_session(t *testing.T) {
	h := processHarness(t, window.Session(ms(10)))
	for _, r := range []struct{ v, ts int64 }{{1, 0}, {2, 5}, {3, 30}, {4, 17}, {5, 14}} {
		h.ProcessElement(ev{"a", r.v}, r.ts)
	}
	h.ProcessElement(ev{"b", 7}, 100) // a point session
	h.ProcessWatermark(26)
	wantOutput(t, h.Output(), "a[0, 27)[1 2 4 5]@26 watermark(26)")
	h.EndInput()
	wantOutput(t, h.Output(), "a[0, 27)[1 2 4 5]@26 watermark(26) a[30, 40)[3]@39 b[100, 110)[7]@109 watermark(max)")
	if h.Timers() != 0 || h.StateEntries() != 0 {
		t.Fatalf("after end: timers %d, state entries %d", h.Timers(), h.StateEntries())
	}
}

// Checklist Windows 2: dynamic gaps, with a reduce that merges.
func TestReduceWindow_dynamicSession(t *testing.T) {
	gap := window.DynamicSession(func(e ev) time.Duration { return ms(e.V) })
	h := reduceHarness(t, gap)
	h.ProcessElement(ev{"a", 5}, 0)  // [0, 5)
	h.ProcessElement(ev{"a", 3}, 4)  // [4, 7): merges into [0, 7)
	h.ProcessElement(ev{"a", 1}, 10) // [10, 11)
	h.EndInput()
	wantOutput(t, h.Output(), "{a 8}@6 {a 1}@10 watermark(max)")
}

// Checklist Windows 2: sessions with a count trigger add up the counts of
// the sessions they merge.
func TestProcessWindow_sessionCountTrigger(t *testing.T) {
	h := processHarness(t, window.Session(ms(5)), operators.WithTrigger(window.NewCountTrigger(3)))
	for _, ts := range []int64{0, 20, 3, 14, 8} {
		h.ProcessElement(ev{"a", ts}, ts)
	}
	wantOutput(t, h.Output(), "a[0, 13)[0 3 8]@12")
	h.ProcessElement(ev{"a", 12}, 12) // bridges [0, 13), [12, 17) and [14, 19)
	h.ProcessElement(ev{"a", 19}, 19) // joins [20, 25): count 2+1+1
	wantOutput(t, h.Output(), "a[0, 13)[0 3 8]@12 a[0, 25)[0 3 8 14 12 20 19]@24")
}

// Checklist Windows 3 and 5: count windows of size only fire and purge
// every N; the partial group left at end of input is not emitted, as
// Flink's CountTrigger never fires by time (issue 19, deviation 6).
func TestReduceWindow_countWindow(t *testing.T) {
	spec := window.CountWindow(3)
	h := reduceHarness(t, spec.Assigner, operators.WithTrigger(spec.Trigger))
	for v := range int64(7) {
		h.ProcessElement(ev{"a", v + 1}, operators.NoTimestamp)
	}
	wantOutput(t, h.Output(), "{a 6}@9223372036854775807 {a 15}@9223372036854775807")
	h.EndInput()
	wantOutput(t, h.Output(), "{a 6}@9223372036854775807 {a 15}@9223372036854775807 watermark(max)")
}

// Checklist Windows 3: sliding count windows keep the last N and fire
// every slide; nothing fires twice at end of input.
func TestProcessWindow_slidingCountWindow(t *testing.T) {
	spec := window.SlidingCountWindow(3, 2)
	h := processHarness(t, spec.Assigner, operators.WithTrigger(spec.Trigger), operators.WithEvictor(spec.Evictor))
	for v := range int64(8) {
		h.ProcessElement(ev{"a", v}, operators.NoTimestamp)
	}
	h.EndInput()
	const max = "@9223372036854775807"
	wantOutput(t, h.Output(), "aglobal[0 1]"+max+" aglobal[1 2 3]"+max+" aglobal[3 4 5]"+max+" aglobal[5 6 7]"+max+" watermark(max)")
}

// Checklist Windows 3: an evictor with a reduce function reduces the
// records kept.
func TestReduceWindow_slidingCountWindow(t *testing.T) {
	spec := window.SlidingCountWindow(3, 2)
	h := reduceHarness(t, spec.Assigner, operators.WithTrigger(spec.Trigger), operators.WithEvictor(spec.Evictor))
	for v := range int64(6) {
		h.ProcessElement(ev{"a", v}, operators.NoTimestamp)
	}
	var sums []int64
	for _, v := range h.Values() {
		sums = append(sums, v.V)
	}
	if fmt.Sprint(sums) != "[1 6 12]" {
		t.Fatalf("sums %v, want [1 6 12]", sums)
	}
}
