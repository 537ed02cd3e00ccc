package testkit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

// sessionTotals sums each user's amounts and emits the total once the
// watermark passes 10 ms after the user's last event.
// spent is a user's total in the current session.
var spent = operators.NewReducingDescriptor("spent", func(a, b int) int { return a + b })

func sessionTotals(ks operators.KeyedStream[purchase, string]) operators.Stream[string] {
	return operators.ProcessKeyedWithTimers(ks,
		func(ctx *operators.KeyedContext[string], p purchase, _ operators.Collector[string]) error {
			sum, err := operators.GetReducingState(ctx, spent)
			if err != nil {
				return err
			}
			sum.Add(p.Amount)
			ctx.RegisterEventTimer(ctx.Timestamp() + 10)
			return nil
		},
		func(ctx *operators.KeyedContext[string], tm operators.Timer, out operators.Collector[string]) error {
			sum, err := operators.GetReducingState(ctx, spent)
			if err != nil {
				return err
			}
			total, _ := sum.Get()
			out.Collect(fmt.Sprintf("%s:%d", ctx.Key(), total), tm.Time)
			sum.Clear()
			return nil
		})
}

type purchase struct {
	User   string
	Amount int
}

func testSessionTotals(t testing.TB) {
	h := testkit.NewKeyedHarness(t, func(p purchase) string { return p.User }, sessionTotals)
	h.ProcessElement(purchase{"ann", 3}, 1)
	h.ProcessElement(purchase{"bob", 5}, 2)
	h.ProcessWatermark(11) // ann's timer (11) fires, bob's (12) not yet
	fmt.Println(h.Output())

	snap := h.Snapshot(1) // the state and the timer of bob survive a failure
	restored := testkit.NewKeyedHarness(t, func(p purchase) string { return p.User }, sessionTotals,
		testkit.RestoreFrom(snap))
	restored.EndInput() // end of input fires every remaining timer
	fmt.Println(restored.Output())
}

// The harness runs a keyed operator with timers synchronously: records,
// watermarks, a snapshot and a restore, reading the output in order.
func ExampleNewKeyedHarness() {
	runAsTest(testSessionTotals)
	// Output:
	// [ann:3@11 watermark(11)]
	// [bob:5@12 watermark(max)]
	// passed
}

func testAssigner(t testing.TB) {
	h := testkit.NewHarness(t, func(s operators.Stream[int64]) operators.Stream[int64] {
		return operators.AssignTimestamps(s, operators.WatermarkStrategy[int64]{
			Strategy:  watermark.ForBoundedOutOfOrderness(5 * time.Millisecond),
			Timestamp: func(v, _ int64) int64 { return v },
		})
	})
	h.ProcessElements(100, 97, 103)
	h.AdvanceProcessingTime(200 * time.Millisecond) // the periodic watermark is due
	fmt.Println(h.Output())
}

// Processing time is the harness's manual clock: periodic watermarks come
// when the test advances it.
func ExampleHarness_AdvanceProcessingTime() {
	runAsTest(testAssigner)
	// Output:
	// [100@100 97@97 103@103 watermark(97)]
	// passed
}
