package testkit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/watermark"
)

// show renders items as the examples print them.
func showItems[T any](items []Item[T]) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.String()
	}
	return strings.Join(parts, " ")
}

func wantOutput[T any](t *testing.T, h *Harness[T, T], want string) {
	t.Helper()
	if got := showItems(h.Output()); got != want {
		t.Fatalf("output:\n got %s\nwant %s", got, want)
	}
}

func identity(s operators.Stream[int]) operators.Stream[int] {
	return operators.Map(s, func(v int) int { return v })
}

func TestHarness_ProcessElement_keepsTimestampsAndOrder(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[int] {
		return operators.Filter(operators.Map(s, func(v int) int { return v * 2 }), func(v int) bool { return v != 4 })
	})
	h.ProcessElement(1, 10)
	h.ProcessElement(2, 20)
	h.ProcessElements(3)
	h.ProcessWatermark(15)
	wantOutput(t, h, "2@10 6 watermark(15)")
	if got := h.Values(); !slices.Equal(got, []int{2, 6}) {
		t.Fatalf("Values = %v", got)
	}
}

func TestHarness_Output_catchesMutationAfterEmit(t *testing.T) {
	msg := failure(t, func(tb testing.TB) {
		h := NewHarness(tb, func(s operators.Stream[int]) operators.Stream[[]int] {
			var buf []int // reused for every record: a bug
			return operators.Map(s, func(v int) []int {
				buf = append(buf[:0], v)
				return buf
			})
		})
		h.ProcessElements(1, 2)
	})
	wantContains(t, msg, "mutated output record 0", "emitted [1], now [2]")
}

func TestHarness_Output_acceptsFreshValues(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[[]int] {
		return operators.Map(s, func(v int) []int { return []int{v} })
	})
	h.ProcessElements(1, 2)
	if got := fmt.Sprint(h.Values()); got != "[[1] [2]]" {
		t.Fatalf("Values = %s", got)
	}
}

func TestHarness_ProcessWatermark_valveIgnoresRegression(t *testing.T) {
	h := NewHarness(t, identity)
	h.ProcessWatermark(5)
	h.ProcessWatermark(3)
	h.ProcessWatermark(5)
	h.ProcessWatermark(7)
	if got := h.Watermarks(); !slices.Equal(got, []int64{5, 7}) {
		t.Fatalf("watermarks = %v, want [5 7]", got)
	}
	if h.Watermark() != 7 {
		t.Fatalf("Watermark() = %d", h.Watermark())
	}
}

func TestHarness_SetIdle_forwardsStatus(t *testing.T) {
	h := NewHarness(t, identity)
	h.ProcessWatermark(5)
	h.SetIdle(true)
	h.SetIdle(true)
	h.SetIdle(false)
	h.ProcessWatermark(6)
	wantOutput(t, h, "watermark(5) idle active watermark(6)")
}

func TestHarness_EndInput_emitsMaxWatermark(t *testing.T) {
	h := NewHarness(t, identity)
	h.ProcessElement(1, 1)
	h.EndInput()
	wantOutput(t, h, "1@1 watermark(max)")
}

func TestHarness_ExpectFailure_recordsError(t *testing.T) {
	boom := errors.New("boom")
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[int] {
		return operators.Process(s, func(ctx *operators.ProcessContext, v int, out operators.Collector[int]) error {
			if v == 2 {
				return boom
			}
			out.Collect(v, operators.NoTimestamp)
			return nil
		})
	}, ExpectFailure())
	h.ProcessElements(1, 2)
	if !errors.Is(h.Err(), boom) {
		t.Fatalf("Err = %v, want boom", h.Err())
	}
}

func TestHarness_ProcessElement_failsTestOnOperatorError(t *testing.T) {
	msg := failure(t, func(tb testing.TB) {
		h := NewHarness(tb, func(s operators.Stream[int]) operators.Stream[int] {
			return operators.Process(s, func(*operators.ProcessContext, int, operators.Collector[int]) error { return errors.New("bad record") })
		})
		h.ProcessElements(1)
	})
	wantContains(t, msg, "record 1@", "operator failed", "bad record")
}

func TestNewHarness_rejectsOperatorsOutsideOneSubtask(t *testing.T) {
	msg := failure(t, func(tb testing.TB) {
		NewHarness(tb, func(s operators.Stream[int]) operators.Stream[int] {
			return identity(identity(s).Rebalance())
		})
	})
	wantContains(t, msg, "must run in one subtask")
}

func TestHarness_AssignTimestamps_watermarks(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int64]) operators.Stream[int64] {
		return operators.AssignTimestamps(s, operators.WatermarkStrategy[int64]{
			Strategy:  watermark.ForBoundedOutOfOrderness(2 * time.Millisecond),
			Timestamp: func(v, _ int64) int64 { return v },
		})
	})
	h.ProcessElements(10, 8, 12)
	h.AdvanceProcessingTime(199 * time.Millisecond)
	wantOutput(t, h, "10@10 8@8 12@12")
	h.AdvanceProcessingTime(time.Millisecond)
	h.AdvanceProcessingTime(200 * time.Millisecond) // nothing new: no second watermark
	wantOutput(t, h, "10@10 8@8 12@12 watermark(9)")
	h.EndInput()
	if got := h.Watermarks(); !slices.Equal(got, []int64{9, operators.MaxWatermark}) {
		t.Fatalf("watermarks = %v", got)
	}
}

func TestHarness_AssignTimestamps_idleness(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int64]) operators.Stream[int64] {
		ws := watermark.ForMonotonous()
		ws.IdleTimeout = time.Second
		return operators.AssignTimestamps(s, operators.WatermarkStrategy[int64]{Strategy: ws,
			Timestamp: func(v, _ int64) int64 { return v }})
	})
	h.ProcessElements(5)
	// Idleness is checked with the periodic watermark, as in Flink: the
	// record counts as seen at the first check after it (200 ms).
	h.AdvanceProcessingTime(200 * time.Millisecond)
	h.AdvanceProcessingTime(999 * time.Millisecond)
	wantOutput(t, h, "5@5 watermark(4)")
	h.AdvanceProcessingTime(time.Millisecond)
	h.ProcessElements(6)
	wantOutput(t, h, "5@5 watermark(4) idle active 6@6")
}
