package testkit

import (
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

func union(a, b operators.Stream[int]) operators.Stream[int] {
	return operators.Map(operators.Union(a, b), func(v int) int { return v })
}

func TestTwoInputHarness_watermarkIsTheMinimumOfBothInputs(t *testing.T) {
	h := NewTwoInputHarness(t, union)
	h.ProcessElement1(1, 1)
	h.ProcessElement2(2, 2)
	h.ProcessWatermark1(10)
	if got := h.Watermarks(); len(got) != 0 {
		t.Fatalf("watermark %v forwarded before input 2 sent one", got)
	}
	h.ProcessWatermark2(4)
	h.ProcessWatermark2(12)
	h.SetIdle1(true) // input 2 alone holds the watermark: 12
	if got, want := showItems(h.Output()), "1@1 2@2 watermark(4) watermark(10) watermark(12)"; got != want {
		t.Fatalf("output %s, want %s", got, want)
	}
	h.EndInput()
	if h.Watermark() != operators.MaxWatermark {
		t.Fatalf("watermark after end of input: %d", h.Watermark())
	}
}
