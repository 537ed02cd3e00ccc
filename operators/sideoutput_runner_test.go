package operators_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

// sideCase is a pipeline with an operator that emits to a consumed side
// output, and what its main and side outputs must hold. The main output
// (int64) is of another type than the side output (string), as a late
// output of a window's aggregation is.
type sideCase struct {
	name string
	// build adds the operator under test after src (timestamped, one
	// record per value of sideInput) and returns its main and side
	// outputs, each as strings.
	build    func(src operators.Stream[int64], par int) (main *operators.Collected[int64], side *operators.Collected[string])
	wantMain []int64
	want     []string
}

var sideTag = operators.NewOutputTag[string]("side")

// sideInput is 1..9 at timestamps 10, 20, …, then 5 once the watermark
// has passed 100: late for any window ending by then.
var sideInput = []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 20, -1}

func sideTimestamp(v int64, _ int64) int64 {
	if v < 0 {
		return 5
	}
	return v * 10
}

// sideCases are every kind of operator that emits side outputs: user
// functions (Process, ProcessKeyed, ProcessConnected, ProcessWindow) and
// the built-in late outputs (window, interval join).
func sideCases() []sideCase {
	odd := func(v int64) bool { return v%2 != 0 }
	str := func(v int64) string { return fmt.Sprint(v) }
	key := func(v int64) int64 { return v % 3 }
	collect := func(main operators.Stream[int64], side operators.Stream[string], par int) (*operators.Collected[int64], *operators.Collected[string]) {
		return operators.Collect(main).Parallelism(par), operators.Collect(side).Parallelism(par)
	}
	return []sideCase{{
		name: "process",
		build: func(src operators.Stream[int64], par int) (*operators.Collected[int64], *operators.Collected[string]) {
			s := operators.Process(src, func(ctx *operators.ProcessContext, v int64, out operators.Collector[int64]) error {
				if odd(v) {
					ctx.Output(sideTag.Of(str(v)))
				} else {
					out.Collect(v, ctx.Timestamp())
				}
				return nil
			}).Name("op").Parallelism(par)
			return collect(s, operators.GetSideOutput(s, sideTag), par)
		},
		wantMain: []int64{2, 4, 6, 8, 20}, want: []string{"-1", "1", "3", "5", "7", "9"},
	}, {
		name: "process-keyed",
		build: func(src operators.Stream[int64], par int) (*operators.Collected[int64], *operators.Collected[string]) {
			s := operators.ProcessKeyed(operators.KeyBy(src, key),
				func(ctx *operators.KeyedContext[int64], v int64, out operators.Collector[int64]) error {
					if odd(v) {
						ctx.Output(sideTag.Of(str(v)))
					} else {
						out.Collect(v, ctx.Timestamp())
					}
					return nil
				}).Name("op").Parallelism(par)
			return collect(s, operators.GetSideOutput(s, sideTag), par)
		},
		wantMain: []int64{2, 4, 6, 8, 20}, want: []string{"-1", "1", "3", "5", "7", "9"},
	}, {
		name: "process-connected",
		build: func(src operators.Stream[int64], par int) (*operators.Collected[int64], *operators.Collected[string]) {
			evens := operators.Filter(src, func(v int64) bool { return !odd(v) })
			odds := operators.Filter(src, odd)
			s := operators.ProcessConnected(operators.KeyBy(evens, key), operators.KeyBy(odds, key),
				operators.CoProcessFuncs[int64, int64, int64, int64]{
					Process1: func(ctx *operators.KeyedContext[int64], v int64, out operators.Collector[int64]) error {
						out.Collect(v, ctx.Timestamp())
						return nil
					},
					Process2: func(ctx *operators.KeyedContext[int64], v int64, _ operators.Collector[int64]) error {
						ctx.Output(sideTag.Of(str(v)))
						return nil
					},
				}).Name("op").Parallelism(par)
			return collect(s, operators.GetSideOutput(s, sideTag), par)
		},
		wantMain: []int64{2, 4, 6, 8, 20}, want: []string{"-1", "1", "3", "5", "7", "9"},
	}, {
		name: "process-window",
		build: func(src operators.Stream[int64], par int) (*operators.Collected[int64], *operators.Collected[string]) {
			tumbling := window.Tumbling(100 * time.Millisecond)
			s := operators.ProcessWindow(operators.Window(operators.KeyBy(src, key), tumbling),
				func(ctx *operators.WindowContext[int64], elems []int64, out operators.Collector[int64]) error {
					ctx.Output(sideTag.Of(fmt.Sprintf("key %d: %d", ctx.Key(), len(elems))))
					sum := int64(0)
					for _, v := range elems {
						sum += v
					}
					out.Collect(sum, 0)
					return nil
				}).Name("op").Parallelism(par)
			return collect(s, operators.GetSideOutput(s, sideTag), par)
		},
		// Windows [0, 100) of keys 0, 1, 2 hold 3+6+9, 1+4+7, 2+5+8;
		// [200, 300) of key 2 holds 20; -1 comes after the watermark
		// passed 100: late, dropped.
		wantMain: []int64{12, 15, 18, 20},
		want:     []string{"key 0: 3", "key 1: 3", "key 2: 1", "key 2: 3"},
	}, {
		name: "window-late",
		build: func(src operators.Stream[int64], par int) (*operators.Collected[int64], *operators.Collected[string]) {
			late := operators.NewOutputTag[int64]("late")
			tumbling := window.Tumbling(100 * time.Millisecond)
			sums := operators.ReduceWindow(operators.Window(operators.KeyBy(src, key), tumbling, operators.WithLateOutput(late)),
				func(a, b int64) int64 { return a + b }).Name("op").Parallelism(par)
			return collect(sums, operators.Map(operators.GetSideOutput(sums, late), str), par)
		},
		wantMain: []int64{12, 15, 18, 20}, want: []string{"-1"},
	}, {
		name: "interval-join-late",
		build: func(src operators.Stream[int64], par int) (*operators.Collected[int64], *operators.Collected[string]) {
			lateLeft := operators.NewOutputTag[int64]("late-left")
			lateRight := operators.NewOutputTag[int64]("late-right")
			left := operators.KeyBy(src, func(int64) int { return 0 })
			right := operators.KeyBy(operators.Filter(src, func(v int64) bool { return v == 20 }), func(int64) int { return 0 })
			joined := operators.IntervalJoin(left, right, 0, time.Second, func(a, b int64) int64 { return 100*a + b },
				operators.WithLeftLateOutput(lateLeft), operators.WithRightLateOutput(lateRight)).Name("op").Parallelism(par)
			lates := operators.Union(operators.GetSideOutput(joined, lateLeft), operators.GetSideOutput(joined, lateRight))
			return collect(joined, operators.Map(lates, str), par)
		},
		// Every record is paired with 20 (ts 200) if it is at most a
		// second earlier (a+b as 100a+b); -1 (ts 5) may be late or not,
		// depending on which input's watermark came first, so it is
		// left out.
		wantMain: []int64{120, 220, 320, 420, 520, 620, 720, 820, 920, 2020},
	}}
}

// Every operator kind with a consumed side output runs under the test
// runner, whose engine injects faults (issue 18, item 1): before the fix
// the chain wrapped a side output's consumer as if it read the main
// output, and every such job panicked at start.
func TestRunner_Run_sideOutputs(t *testing.T) {
	for _, c := range sideCases() {
		for _, par := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/parallelism-%d", c.name, par), func(t *testing.T) {
				r := testkit.NewRunner(t)
				p := operators.NewPipeline("side-" + c.name)
				src := operators.AssignTimestamps(operators.FromSlice(p, sideInput), operators.WatermarkStrategy[int64]{
					Strategy:  watermark.ForPunctuated(func(ts int64) (int64, bool) { return ts - 1, true }),
					Timestamp: sideTimestamp,
				}).Name("src")
				main, side := c.build(src, par)
				if res := r.Run(p); res.State != actors.JobFinished {
					t.Fatalf("%v", res)
				}
				got := slices.Sorted(slices.Values(main.Values()))
				if c.name == "interval-join-late" {
					got = slices.DeleteFunc(got, func(v int64) bool { return v == -100+20 })
				}
				if !slices.Equal(got, c.wantMain) {
					t.Errorf("main output %v, want %v", got, c.wantMain)
				}
				sideGot := slices.Sorted(slices.Values(side.Values()))
				if c.name == "interval-join-late" {
					sideGot = slices.DeleteFunc(sideGot, func(s string) bool { return s == "-1" })
				}
				if !slices.Equal(sideGot, c.want) {
					t.Errorf("side output %q, want %q", sideGot, c.want)
				}
			})
		}
	}
}

// A fault in the operator that emits side outputs restarts the job from
// its latest checkpoint; its side output is then still exactly once.
func TestRunner_Run_sideOutputWithFault(t *testing.T) {
	r := testkit.NewRunner(t, testkit.WithCheckpoints(time.Millisecond))
	r.Faults().FailAt("split", testkit.AtRecord(300))
	const n = 1000
	p := operators.NewPipeline("side-fault").SetParallelism(2)
	src := operators.Generate(p, n, func(i int64) int64 { return i }).Name("gen")
	split := operators.Process(src, func(ctx *operators.ProcessContext, v int64, out operators.Collector[int64]) error {
		if v%2 != 0 {
			ctx.Output(sideTag.Of(fmt.Sprint(v)))
			return nil
		}
		out.Collect(v, ctx.Timestamp())
		return nil
	}).Name("split")
	main := operators.Collect(split)
	side := operators.Collect(operators.GetSideOutput(split, sideTag))
	res := r.Run(p)
	if res.State != actors.JobFinished || res.Restarts != 1 {
		t.Fatalf("%v, want finished after one restart", res)
	}
	seen := make([]int, n)
	for _, v := range main.Values() {
		seen[v]++
	}
	for _, s := range side.Values() {
		var v int
		if _, err := fmt.Sscan(s, &v); err != nil || v%2 == 0 {
			t.Fatalf("side output %q", s)
		}
		seen[v]++
	}
	for v, c := range seen {
		if c != 1 {
			t.Fatalf("record %d committed %d times", v, c)
		}
	}
}
