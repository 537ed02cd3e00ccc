package operators_test

import (
	"strings"
	"testing"

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
