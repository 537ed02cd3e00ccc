package actors

import (
	"fmt"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/watermark"
)

type windowSum struct {
	Key, Start, Sum int64
}

// windowSums sums each key's values per 1000 ms event-time window with
// keyed timers, and fails on a record at or below its subtask's watermark:
// with in-order sources none may be late, so one would show watermarks
// running ahead of a channel (a valve taking the maximum, say).
func windowSums(ks operators.KeyedStream[kv, int64]) operators.Stream[windowSum] {
	return operators.ProcessKeyedWithTimers(ks,
		func(ctx *operators.KeyedContext[int64], r kv, _ operators.Collector[windowSum]) error {
			state, err := operators.GetValueState(ctx, operators.ValueDescriptor[map[int64]int64]{Name: "value"})
			if err != nil {
				return err
			}
			if ctx.Timestamp() <= ctx.CurrentWatermark() {
				return fmt.Errorf("record at %d is late: watermark %d", ctx.Timestamp(), ctx.CurrentWatermark())
			}
			sums, ok := state.Value()
			if !ok {
				sums = map[int64]int64{}
				state.Update(sums)
			}
			start := ctx.Timestamp() - ctx.Timestamp()%1000
			sums[start] += r.V
			ctx.RegisterEventTimer(start + 999)
			return nil
		},
		func(ctx *operators.KeyedContext[int64], tm operators.Timer, out operators.Collector[windowSum]) error {
			state, err := operators.GetValueState(ctx, operators.ValueDescriptor[map[int64]int64]{Name: "value"})
			if err != nil {
				return err
			}
			sums, _ := state.Value()
			start := tm.Time - 999
			out.Collect(windowSum{Key: ctx.Key(), Start: start, Sum: sums[start]}, tm.Time)
			delete(sums, start)
			if len(sums) == 0 {
				state.Clear()
			}
			return nil
		})
}

func TestEngine_Run_eventTimeWindowsAcrossChannels(t *testing.T) {
	const n = 20000
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("windows")
	src := operators.Generate(p, n, func(i int64) kv { return kv{K: i % 7, V: i} }).Parallelism(2)
	timed := operators.AssignTimestamps(src, operators.WatermarkStrategy[kv]{
		// a watermark after every 250th value, just below it; subtask 0
		// has the even values, subtask 1 the odd ones
		Strategy:  watermark.ForPunctuated(func(ts int64) (int64, bool) { return ts - 1, ts%250 < 2 }),
		Timestamp: func(r kv, _ int64) int64 { return r.V },
	}).Parallelism(2) // chained to the source: per source subtask, in order
	sums := operators.Collect(windowSums(operators.KeyBy(timed, func(r kv) int64 { return r.K })).Parallelism(3))
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	want := map[windowSum]bool{}
	for i := int64(0); i < n; i++ {
		w := windowSum{Key: i % 7, Start: i - i%1000}
		want[w] = true
	}
	got := map[[2]int64]int64{}
	for _, s := range sums.Values() {
		k := [2]int64{s.Key, s.Start}
		if _, dup := got[k]; dup {
			t.Fatalf("window %v fired twice", k)
		}
		got[k] = s.Sum
	}
	if len(got) != len(want) {
		t.Fatalf("got %d windows, want %d", len(got), len(want))
	}
	for w := range want {
		var sum int64
		for i := w.Start; i < w.Start+1000; i++ {
			if i%7 == w.Key {
				sum += i
			}
		}
		if got[[2]int64{w.Key, w.Start}] != sum {
			t.Errorf("key %d window %d: sum %d, want %d", w.Key, w.Start, got[[2]int64{w.Key, w.Start}], sum)
		}
	}
}
