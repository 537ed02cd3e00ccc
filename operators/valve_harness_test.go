package operators_test

import (
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// The multi-input watermark rules (CHECKLISTS, "Multi-input watermark
// valve"), seen from outside an operator with two inputs.

func unionIdentity(a, b operators.Stream[int]) operators.Stream[int] {
	return operators.Map(operators.Union(a, b), func(v int) int { return v })
}

func events(items []testkit.Item[int]) string {
	var parts []string
	for _, it := range items {
		if !it.IsRecord() {
			parts = append(parts, it.String())
		}
	}
	return strings.Join(parts, " ")
}

func TestValve_harness_minimumOverInputsNeverBack(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, unionIdentity)
	h.ProcessWatermark1(5)
	if got := events(h.Output()); got != "" {
		t.Fatalf("%s before input 2 sent a watermark", got)
	}
	h.ProcessWatermark2(3) // min(5, 3)
	h.ProcessWatermark2(2) // a decrease on one input: nothing
	h.ProcessWatermark2(7) // min(5, 7)
	h.ProcessWatermark1(9) // min(9, 7)
	if got := events(h.Output()); got != "watermark(3) watermark(5) watermark(7)" {
		t.Fatalf("events %q", got)
	}
}

func TestValve_harness_idleInputsStopHoldingBack(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, unionIdentity)
	h.ProcessWatermark1(10)
	h.ProcessWatermark2(4)
	h.SetIdle2(true)       // input 1 alone: 10
	h.SetIdle1(true)       // all idle: the highest seen, then idle
	h.SetIdle2(false)      // input 2 back, at 4 < 10: active, but not counted yet
	h.ProcessWatermark2(8) // still below the output: nothing
	h.ProcessWatermark2(12)
	want := "watermark(4) watermark(10) idle active watermark(12)"
	if got := events(h.Output()); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
}

func TestValve_harness_endedInputCountsAsPassedEverything(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, unionIdentity)
	h.ProcessWatermark1(3)
	h.ProcessWatermark2(6)
	h.EndInput()
	if got := events(h.Output()); got != "watermark(3) watermark(max)" {
		t.Fatalf("events %q", got)
	}
}

// Checklist valve 8: a two-input operator has one valve per input and
// takes the minimum over the inputs that are active (Flink's
// CombinedWatermarkStatus), with no catch-up rule between inputs. The
// interval join of issue 19, bug 2: input 1 returns from idleness behind
// the output, so the operator's watermark stays with it, and its record
// at 60 is not late.
func TestValve_harness_twoInputs_returningInputHoldsTheWatermark(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, func(a operators.Stream[string], b operators.Stream[string]) operators.Stream[string] {
		return operators.IntervalJoin(operators.KeyBy(a, constKey), operators.KeyBy(b, constKey),
			0, 20*time.Millisecond, func(x, y string) string { return x + "+" + y })
	})
	h.ProcessWatermark1(10)
	h.ProcessWatermark2(10)
	h.SetIdle1(true)
	h.ProcessWatermark2(50) // input 1 idle: the operator follows input 2
	h.SetIdle1(false)       // back at 10: it holds the watermark again
	h.ProcessWatermark2(70)
	h.ProcessElement1("a", 60)
	h.ProcessElement2("b", 75)
	if got, want := show(h.Output()), "watermark(10) watermark(50) a+b@75"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
	if h.LateRecordsDropped() != 0 {
		t.Fatalf("%d records dropped as late", h.LateRecordsDropped())
	}
}

// Checklist valve 8: when the last input goes idle the operator flushes
// the highest watermark of its inputs, then goes idle (Flink's
// CombinedWatermarkStatus since FLINK-38454), whichever input went idle
// last; after that the minimum over the active inputs moves it on again,
// with no catch-up rule between inputs.
func TestValve_harness_twoInputs_lastIdleInputFlushes(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, connectedIdentity)
	h.ProcessWatermark1(10)
	h.ProcessWatermark2(4)
	h.SetIdle1(true)       // input 2 alone: still 4
	h.ProcessWatermark1(9) // from an idle input: ignored
	h.SetIdle2(true)       // all idle: input 1's 10, then idle
	h.SetIdle2(false)      // input 2 back at 4: active, the output stays 10
	h.ProcessWatermark2(6) // below the output
	h.SetIdle1(false)      // input 1 back at 10: the minimum is 6
	h.ProcessWatermark2(12)
	h.ProcessWatermark1(15) // min(15, 12)
	want := "watermark(4) watermark(10) idle active watermark(12)"
	if got := events(h.Output()); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// A two-input operator never sends a watermark while it has announced
// itself idle: downstream drops a watermark from an idle channel. Without
// the flush, input 1 coming back from all idle at 50 moved the output in
// the change that made it active, and the watermark went out first.
func TestValve_harness_twoInputs_noWatermarkWhileIdle(t *testing.T) {
	h := testkit.NewTwoInputHarness(t, connectedIdentity)
	h.ProcessWatermark1(50)
	h.ProcessWatermark2(10)
	h.SetIdle1(true)
	h.SetIdle2(true)
	h.SetIdle1(false)
	h.ProcessWatermark1(60) // input 2 is idle: input 1 alone
	got := events(h.Output())
	if want := "watermark(10) watermark(50) idle active watermark(60)"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
}

func constKey(string) int { return 0 }

// connectedIdentity connects two streams and passes both on.
func connectedIdentity(a, b operators.Stream[int]) operators.Stream[int] {
	pass := func(_ *operators.KeyedContext[int], v int, out operators.Collector[int]) error {
		out.Collect(v, operators.NoTimestamp)
		return nil
	}
	key := func(v int) int { return v }
	return operators.ProcessConnected(operators.KeyBy(a, key), operators.KeyBy(b, key),
		operators.CoProcessFuncs[int, int, int, int]{Process1: pass, Process2: pass})
}
