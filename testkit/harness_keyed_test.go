package testkit

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

type click struct {
	User string
	N    int
}

// sessionSum sums each user's clicks and emits the sum when the watermark
// passes 10 ms after the user's last click.
func sessionSum(ks operators.KeyedStream[click, string]) operators.Stream[click] {
	return operators.ProcessKeyedWithTimers(ks,
		func(ctx *operators.KeyedContext[string], c click, _ operators.Collector[click]) error {
			state, err := operators.GetValueState(ctx, operators.ValueDescriptor[int]{Name: "value"})
			if err != nil {
				return err
			}
			sum, _ := state.Value()
			state.Update(sum + c.N)
			ctx.RegisterEventTimer(ctx.Timestamp() + 10)
			return nil
		},
		func(ctx *operators.KeyedContext[string], tm operators.Timer, out operators.Collector[click]) error {
			state, err := operators.GetValueState(ctx, operators.ValueDescriptor[int]{Name: "value"})
			if err != nil {
				return err
			}
			sum, _ := state.Value()
			out.Collect(click{User: ctx.Key(), N: sum}, tm.Time)
			state.Clear()
			return nil
		})
}

func clickUser(c click) string { return c.User }

func TestKeyedHarness_eventTimers(t *testing.T) {
	h := NewKeyedHarness(t, clickUser, sessionSum)
	h.ProcessElement(click{"ann", 1}, 1)
	h.ProcessElement(click{"bob", 2}, 2)
	h.ProcessElement(click{"ann", 3}, 1) // same timer (ann, 11): deduplicated
	if h.Timers() != 2 || h.StateEntries() != 2 {
		t.Fatalf("timers %d, state entries %d; want 2 and 2", h.Timers(), h.StateEntries())
	}
	h.ProcessWatermark(11)
	got := showItems(h.Output())
	if want := "{ann 4}@11 watermark(11)"; got != want {
		t.Fatalf("output %s, want %s", got, want)
	}
	if h.Timers() != 1 || h.StateEntries() != 1 {
		t.Fatalf("after firing: timers %d, state entries %d; want 1 and 1", h.Timers(), h.StateEntries())
	}
	h.EndInput()
	if got, want := showItems(h.Output()), "{ann 4}@11 watermark(11) {bob 2}@12 watermark(max)"; got != want {
		t.Fatalf("output %s, want %s", got, want)
	}
}

func TestKeyedHarness_processingTimers(t *testing.T) {
	h := NewKeyedHarness(t, clickUser, func(ks operators.KeyedStream[click, string]) operators.Stream[string] {
		return operators.ProcessKeyedWithTimers(ks,
			func(ctx *operators.KeyedContext[string], c click, _ operators.Collector[string]) error {
				ctx.RegisterProcessingTimer(ctx.ProcessingTime().Add(time.Second))
				return nil
			},
			func(ctx *operators.KeyedContext[string], tm operators.Timer, out operators.Collector[string]) error {
				out.Collect(ctx.Key()+" "+tm.Domain.String(), operators.NoTimestamp)
				return nil
			})
	})
	h.ProcessElement(click{"ann", 1}, operators.NoTimestamp)
	h.AdvanceProcessingTime(time.Second) // at the timer's time: not past it yet
	if len(h.Values()) != 0 {
		t.Fatalf("fired early: %v", h.Values())
	}
	h.AdvanceProcessingTime(time.Millisecond)
	if got := h.Values(); len(got) != 1 || got[0] != "ann processing-time" {
		t.Fatalf("Values = %q", got)
	}
	if h.Timers() != 0 {
		t.Fatalf("Timers = %d after firing", h.Timers())
	}
}

func TestKeyedHarness_rejectsKeyOfAnotherSubtask(t *testing.T) {
	msg := failure(t, func(tb testing.TB) {
		h := NewKeyedHarness(tb, clickUser, sessionSum, WithSubtask(0, 4), WithMaxParallelism(8))
		for _, u := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
			h.ProcessElement(click{u, 1}, 1)
		}
	})
	wantContains(t, msg, "belongs to subtask", "not to subtask 0 under test")
}
