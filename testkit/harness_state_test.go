package testkit

import (
	"fmt"
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// counts is the running count of a key.
var counts = operators.ValueDescriptor[int]{Name: "count"}

// runningCount counts records per key and emits "key=count".
func runningCount(ks operators.KeyedStream[string, string]) operators.Stream[string] {
	return operators.ProcessKeyedWithTimers(ks,
		func(ctx *operators.KeyedContext[string], v string, out operators.Collector[string]) error {
			state, err := operators.GetValueState(ctx, counts)
			if err != nil {
				return err
			}
			n, _ := state.Value()
			state.Update(n + 1)
			ctx.RegisterEventTimer(100)
			out.Collect(fmt.Sprintf("%s=%d", v, n+1), operators.NoTimestamp)
			return nil
		},
		func(ctx *operators.KeyedContext[string], _ operators.Timer, out operators.Collector[string]) error {
			state, err := operators.GetValueState(ctx, counts)
			if err != nil {
				return err
			}
			n, _ := state.Value()
			out.Collect(fmt.Sprintf("%s final %d", ctx.Key(), n), operators.NoTimestamp)
			return nil
		})
}

func self(s string) string { return s }

var keys = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}

func TestHarness_Snapshot_restoreKeepsStateAndTimers(t *testing.T) {
	h := NewKeyedHarness(t, self, runningCount)
	h.ProcessElements("a", "b", "a")
	snap := h.Snapshot(1)
	h.ProcessElements("a") // after the checkpoint: lost by the restore, as in a failure
	if got := showItems(h.Output()); got != "a=1 b=1 a=2 barrier(1) a=3" {
		t.Fatalf("output %s", got)
	}

	r := NewKeyedHarness(t, self, runningCount, RestoreFrom(snap))
	if r.Timers() != 2 {
		t.Fatalf("restored %d timers, want 2", r.Timers())
	}
	r.ProcessElements("a") // the function asks for its state: b's restored count is there too
	if r.StateEntries() != 2 {
		t.Fatalf("restored %d entries, want 2", r.StateEntries())
	}
	r.ProcessWatermark(100)
	want := []string{"a=3", "a final 3", "b final 1"}
	if got := r.Values(); !slices.Equal(got, want) {
		t.Fatalf("after restore %q, want %q", got, want)
	}
}

// TestHarness_RestoreFrom_rescales takes the state of two subtasks and
// restores it into three: every key's count survives, on the subtask that
// owns the key's group now.
func TestHarness_RestoreFrom_rescales(t *testing.T) {
	var snaps []*Snapshot
	for sub := range 2 {
		h := NewKeyedHarness(t, self, runningCount, WithSubtask(sub, 2), WithMaxParallelism(16))
		for _, k := range keys {
			if ownsKey(h.cfg, k) == nil {
				h.ProcessElements(k, k)
			}
		}
		snaps = append(snaps, h.Snapshot(7))
	}
	total := 0
	for sub := range 3 {
		h := NewKeyedHarness(t, self, runningCount, WithSubtask(sub, 3), WithMaxParallelism(16), RestoreFrom(snaps...))
		for _, k := range keys {
			if ownsKey(h.cfg, k) == nil {
				h.ProcessElements(k)
				if got := h.Values(); got[len(got)-1] != k+"=3" {
					t.Fatalf("subtask %d, key %s: %q after restore, want %s=3", sub, k, got, k)
				}
			}
		}
		total += h.StateEntries()
	}
	if total != len(keys) {
		t.Fatalf("restored %d keys over 3 subtasks, want %d", total, len(keys))
	}
}

func TestHarness_RestoreFrom_rejectsStateOfAStatelessOperator(t *testing.T) {
	h := NewKeyedHarness(t, self, func(ks operators.KeyedStream[string, string]) operators.Stream[string] {
		return runningCount(ks).Name("counter")
	})
	h.ProcessElements("a")
	snap := h.Snapshot(1)
	msg := failure(t, func(tb testing.TB) {
		NewHarness(tb, func(s operators.Stream[string]) operators.Stream[string] {
			return operators.Map(s, self).Name("counter") // same name, no state
		}, RestoreFrom(snap))
	})
	wantContains(t, msg, "cannot restore state", "counter")
}

func TestHarness_Snapshot_reduceState(t *testing.T) {
	sum := func(ks operators.KeyedStream[int, int]) operators.Stream[int] {
		return operators.Reduce(ks, func(a, b int) int { return a + b })
	}
	mod := func(v int) int { return v % 2 }
	h := NewKeyedHarness(t, mod, sum)
	h.ProcessElements(1, 2, 3, 4)
	snap := h.Snapshot(3)
	r := NewKeyedHarness(t, mod, sum, RestoreFrom(snap))
	r.ProcessElements(5, 6)
	if got := r.Values(); !slices.Equal(got, []int{9, 12}) {
		t.Fatalf("after restore %v, want [9 12]", got)
	}
}
