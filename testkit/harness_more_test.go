package testkit

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

func TestHarness_ClearOutput_forgetsWhatCameBefore(t *testing.T) {
	h := NewHarness(t, identity)
	h.ProcessElements(1, 2)
	h.ClearOutput()
	h.ProcessElements(3)
	out := h.Output()
	if len(out) != 1 || !out[0].IsRecord() || out[0].Value != 3 {
		t.Fatalf("output after ClearOutput: %v", out)
	}
	h.ProcessWatermark(5)
	if out := h.Output(); out[1].IsRecord() {
		t.Fatalf("a watermark reads as a record: %v", out)
	}
}

func TestHarness_SetProcessingTime_startsWhereConfigured(t *testing.T) {
	start := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	h := NewKeyedHarness(t, clickUser, func(ks operators.KeyedStream[click, string]) operators.Stream[string] {
		return operators.ProcessKeyedWithTimers(ks,
			func(ctx *operators.KeyedContext[string], _ click, _ operators.Collector[string]) error {
				ctx.RegisterProcessingTimer(ctx.ProcessingTime().Add(time.Minute))
				return nil
			},
			func(ctx *operators.KeyedContext[string], tm operators.Timer, out operators.Collector[string]) error {
				out.Collect(time.UnixMilli(tm.Time).UTC().Format(time.TimeOnly), operators.NoTimestamp)
				return nil
			})
	}, WithProcessingTime(start))
	h.ProcessElement(click{"ann", 1}, operators.NoTimestamp)
	h.SetProcessingTime(start.Add(time.Minute + time.Millisecond)) // past the timer's time
	if got := h.Values(); !slices.Equal(got, []string{"12:01:00"}) {
		t.Fatalf("Values = %q", got)
	}
	msg := failure(t, func(tb testing.TB) {
		g := NewHarness(tb, identity, WithProcessingTime(start))
		g.SetProcessingTime(start.Add(-time.Second))
	})
	wantContains(t, msg, "cannot go back")
}

// WithoutCopyCheck accepts output the codec cannot encode.
func TestHarness_WithoutCopyCheck_acceptsUnencodableValues(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[func() int] {
		return operators.Map(s, func(v int) func() int { return func() int { return v } })
	}, WithoutCopyCheck())
	h.ProcessElements(7)
	if got := h.Values(); len(got) != 1 || got[0]() != 7 {
		t.Fatal("the function value did not come through")
	}
	msg := failure(t, func(tb testing.TB) {
		g := NewHarness(tb, func(s operators.Stream[int]) operators.Stream[func() int] {
			return operators.Map(s, func(v int) func() int { return func() int { return v } })
		})
		g.ProcessElements(7)
	})
	wantContains(t, msg, "cannot encode", "WithoutCopyCheck")
}

// NotifyCheckpointComplete reaches the operators' CheckpointListener.
func TestHarness_NotifyCheckpointComplete_reachesListeners(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[string] {
		return operators.External(s, "listener", func(_ *operators.TaskContext, out operators.Collector[string]) (operators.Collector[int], any, error) {
			l := &listener{out: out}
			return l, l, nil
		})
	})
	h.ProcessElements(1)
	h.Snapshot(1)
	h.NotifyCheckpointComplete(1)
	if got := showItems(h.Output()); got != "barrier(1) complete 1" {
		t.Fatalf("output %s", got)
	}
}

type listener struct{ out operators.Collector[string] }

func (l *listener) Collect(int, int64) {}

func (l *listener) NotifyCheckpointComplete(id int64) error {
	l.out.Collect(fmt.Sprintf("complete %d", id), operators.NoTimestamp)
	return nil
}

// WithCheckpointing opens the operators as in a checkpointing job.
func TestHarness_WithCheckpointing_tellsTheOperators(t *testing.T) {
	mode := func(s operators.Stream[int]) operators.Stream[bool] {
		return operators.External(s, "mode", func(tc *operators.TaskContext, out operators.Collector[bool]) (operators.Collector[int], any, error) {
			return operators.CollectorFunc[int](func(int, int64) { out.Collect(tc.Checkpointing, operators.NoTimestamp) }), nil, nil
		})
	}
	for _, on := range []bool{false, true} {
		var opts []HarnessOption
		if on {
			opts = append(opts, WithCheckpointing())
		}
		h := NewHarness(t, mode, opts...)
		h.ProcessElements(1)
		if got := h.Values(); len(got) != 1 || got[0] != on {
			t.Fatalf("WithCheckpointing %v: operator saw %v", on, got)
		}
	}
}
