package operators_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// Lateness in the interval join, as Flink's IntervalJoinOperator: a
// record is late when its timestamp is below the watermark (issue 19,
// deviations 4 and 5).

func pairJoin(lower, upper time.Duration, opts ...operators.IntervalJoinOption) func(a, b operators.Stream[string]) operators.Stream[string] {
	return func(a, b operators.Stream[string]) operators.Stream[string] {
		return operators.IntervalJoin(operators.KeyBy(a, constKey), operators.KeyBy(b, constKey),
			lower, upper, func(x, y string) string { return x + "+" + y }, opts...)
	}
}

// A record exactly at the watermark is not late: it is stored, and
// pairs with a partner that comes after it.
func TestIntervalJoin_recordAtTheWatermarkIsNotLate(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, pairJoin(0, 5*time.Millisecond))
	h.ProcessWatermark1(10)
	h.ProcessWatermark2(10)
	h.ProcessElement1("a", 10)
	h.ProcessElement2("b", 12)
	wantOutput(t, h.Output(), "watermark(10) a+b@12")
}

// A late record is not joined, even with a partner still in state: it
// is dropped and counted.
func TestIntervalJoin_lateRecordDroppedAndCounted(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, pairJoin(0, 20*time.Millisecond))
	h.ProcessElement2("b", 50)
	h.ProcessWatermark1(40)
	h.ProcessWatermark2(40)
	h.ProcessElement1("a", 30) // 50 ∈ [30, 50], but 30 < 40
	h.ProcessElement2("c", 39)
	wantOutput(t, h.Output(), "watermark(40)")
	if n := h.LateRecordsDropped(); n != 2 {
		t.Fatalf("LateRecordsDropped = %d, want 2", n)
	}
}

var (
	lateLeft  = operators.NewOutputTag[string]("late-left")
	lateRight = operators.NewOutputTag[string]("late-right")
)

// Late records go to the late side output of their stream, with their
// timestamps, as Flink's sideOutputLeftLateData / sideOutputRightLateData.
func TestIntervalJoin_lateSideOutputs(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, pairJoin(0, 20*time.Millisecond,
		operators.WithLeftLateOutput(lateLeft), operators.WithRightLateOutput(lateRight)),
		testkit.WithSideOutput[string](lateLeft), testkit.WithSideOutput[string](lateRight))
	h.ProcessElement2("b", 50)
	h.ProcessWatermark1(40)
	h.ProcessWatermark2(40)
	h.ProcessElement1("a", 30)
	h.ProcessElement2("c", 39)
	h.ProcessElement2("d", 40) // at the watermark: not late
	wantOutput(t, h.Output(), "watermark(40)")
	if got := show(testkit.SideOutput(h, lateLeft)); got != "watermark(40) a@30" {
		t.Fatalf("left late output %q", got)
	}
	if got := show(testkit.SideOutput(h, lateRight)); got != "watermark(40) c@39" {
		t.Fatalf("right late output %q", got)
	}
	if n := h.LateRecordsDropped(); n != 0 {
		t.Fatalf("LateRecordsDropped = %d with late outputs", n)
	}
}

// JoinLateRecords restores the former rule: a record at or below the
// watermark is joined with what is left in state, but not stored.
func TestIntervalJoin_joinLateRecordsOption(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, pairJoin(0, 20*time.Millisecond, operators.JoinLateRecords()))
	h.ProcessElement2("b", 50)
	h.ProcessWatermark1(40)
	h.ProcessWatermark2(40)
	h.ProcessElement1("a", 30) // late: joined with b, not stored
	h.ProcessElement1("e", 40) // at the watermark: joined, not stored
	h.ProcessElement2("c", 45) // a and e were not stored: no pair
	wantOutput(t, h.Output(), "watermark(40) a+b@50 e+b@50")
	if n := h.LateRecordsDropped(); n != 0 {
		t.Fatalf("LateRecordsDropped = %d", n)
	}
}

// A late output tag of another type than its stream's is a build error.
func TestIntervalJoin_lateTagOfAnotherType(t *testing.T) {
	p := operators.NewPipeline("bad")
	a := operators.KeyBy(operators.FromSlice[string](p, nil), constKey)
	b := operators.KeyBy(operators.FromSlice[int](p, nil), func(int) int { return 0 })
	operators.Discard(operators.IntervalJoin(a, b, 0, time.Millisecond, func(string, int) string { return "" },
		operators.WithRightLateOutput(lateRight)))
	if _, err := p.Build(); !errors.Is(err, operators.ErrSideOutputType) || !strings.Contains(err.Error(), "interval-join") {
		t.Fatalf("Build: %v, want ErrSideOutputType naming the join", err)
	}
}

// An interval join's process function gets each pair's context, as
// Flink's ProcessJoinFunction: both timestamps, side outputs and the
// key's named state (issue 18, item 3).
func TestIntervalJoinProcess_contextAndState(t *testing.T) {
	far := operators.NewOutputTag[string]("far")
	pairs := operators.ValueDescriptor[int]{Name: "pairs"}
	h := testkit.NewTwoInputHarness(t, func(a, b operators.Stream[string]) operators.Stream[string] {
		return operators.IntervalJoinProcess(operators.KeyBy(a, constKey), operators.KeyBy(b, constKey), 0, 20*time.Millisecond,
			func(ctx *operators.JoinContext[int], x, y string, out operators.Collector[string]) error {
				n, err := operators.GetValueState(ctx, pairs)
				if err != nil {
					return err
				}
				c, _ := n.Value()
				n.Update(c + 1)
				pair := fmt.Sprintf("%s+%s #%d (%d, %d)", x, y, c+1, ctx.LeftTimestamp(), ctx.RightTimestamp())
				if ctx.RightTimestamp()-ctx.LeftTimestamp() > 10 {
					ctx.Output(far.Of(pair))
					return nil
				}
				out.Collect(pair, ctx.Timestamp())
				return nil
			})
	}, testkit.WithSideOutput[string](far))
	h.ProcessElement1("a", 10)
	h.ProcessElement2("b", 15)
	h.ProcessElement2("c", 25)
	wantOutput(t, h.Output(), "a+b #1 (10, 15)@15")
	if got := show(testkit.SideOutput(h, far)); got != "a+c #2 (10, 25)@25" {
		t.Fatalf("far pairs %q", got)
	}
}

// An interval join's bounds must be whole milliseconds, with lower ≤
// upper as given: Build refuses others naming the operator and the
// bound. Before, they were truncated to milliseconds first, so lower
// 1.5ms > upper 1.2ms passed, and lower 1.5ms joined a partner 1ms
// later.
func TestIntervalJoin_boundsChecked(t *testing.T) {
	for _, c := range []struct {
		lower, upper time.Duration
		want         string // in the error; "" for none
	}{
		{1500 * time.Microsecond, 1200 * time.Microsecond, "lower bound 1.5ms is above upper bound 1.2ms"},
		{1500 * time.Microsecond, 5 * time.Millisecond, "lower bound 1.5ms is not a whole number of milliseconds"},
		{0, 5*time.Millisecond + 1, "upper bound 5.000001ms is not"},
		{5 * time.Millisecond, -5 * time.Millisecond, "above upper bound"},
		{-5 * time.Millisecond, -5 * time.Millisecond, ""},
		{-time.Second, time.Hour, ""},
	} {
		p := operators.NewPipeline("join-bounds")
		a := operators.KeyBy(operators.FromSlice(p, []int{1}), func(int) int { return 0 })
		b := operators.KeyBy(operators.FromSlice(p, []int{2}), func(int) int { return 0 })
		operators.Discard(operators.IntervalJoin(a, b, c.lower, c.upper, func(x, y int) int { return x + y }).Name("join"))
		_, err := p.Build()
		if c.want == "" {
			if err != nil {
				t.Errorf("IntervalJoin(%v, %v): %v", c.lower, c.upper, err)
			}
			continue
		}
		if !errors.Is(err, operators.ErrJoinBounds) || !strings.Contains(err.Error(), `"join"`) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("IntervalJoin(%v, %v): Build: %v; want ErrJoinBounds naming the operator and %q", c.lower, c.upper, err, c.want)
		}
	}
}
