package operators_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

// Checklist Windows 5: end of input fires event-time windows through the
// final watermark, and processing-time windows when it comes (where
// Flink drops them: see docs/event-time.md). A global window with the
// default trigger never fires, as Flink's GlobalWindows.create() (issue
// 19, deviation 7).
func TestWindow_endOfInputFiresOpenWindows(t *testing.T) {
	cases := []struct {
		name     string
		assigner operators.WindowAssigner
		want     string // "" for nothing
	}{
		{"event-time session", window.Session(ms(10)), "a[5, 15)[1 2]"},
		{"processing-time tumbling", window.TumblingProcessing(ms(10)), "a[*)[1 2]"},
		{"global", window.Global(), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := processHarness(t, c.assigner)
			h.ProcessElement(ev{"a", 1}, 5)
			h.ProcessElement(ev{"a", 2}, 5)
			h.EndInput()
			got := h.Values()
			if c.want == "" && len(got) != 0 || c.want != "" && (len(got) != 1 || !matches(got[0], c.want)) {
				t.Fatalf("fired %q, want %q", got, c.want)
			}
			if c.name != "global" {
				wantCounts(t, h, 0, 0)
			}
		})
	}
}

// Flink's GlobalWindows.createWithEndOfStreamTrigger(): each key's global
// window fires once, with everything, at the end of input.
func TestWindow_globalWithEndOfStreamTrigger(t *testing.T) {
	h := processHarness(t, window.GlobalWithEndOfStreamTrigger())
	h.ProcessElement(ev{"b", 3}, 1)
	h.ProcessElement(ev{"a", 1}, 5)
	h.ProcessElement(ev{"a", 2}, operators.NoTimestamp)
	h.ProcessWatermark(1 << 62)
	if got := h.Values(); len(got) != 0 {
		t.Fatalf("fired %q before the end of input", got)
	}
	h.EndInput()
	got := h.Values()
	slices.Sort(got)
	if want := []string{"aglobal[1 2]", "bglobal[3]"}; !slices.Equal(got, want) {
		t.Fatalf("fired %q, want %q", got, want)
	}
}

// WithFireAtEndOfInput restores troupe's former end of input: the partial
// count group and the global window with the default trigger fire.
func TestWindow_withFireAtEndOfInput(t *testing.T) {
	count := window.CountWindow(3)
	every3 := operators.WithTrigger(window.NewCountTrigger(3))
	cases := []struct {
		name string
		a    operators.WindowAssigner
		opts []operators.WindowOption
		want string
	}{
		{"count window", count.Assigner, []operators.WindowOption{operators.WithTrigger(count.Trigger)}, "[aglobal[1 2 3] aglobal[4 5]]"},
		{"global", window.Global(), nil, "[aglobal[1 2 3 4 5]]"},
		{"event-time tumbling, fired once", window.Tumbling(ms(10)), nil, "[a[0, 10)[1 2 3 4 5]]"},
		// Review 19: an event-time window whose trigger has records
		// pending at the end fires with them, before the final
		// watermark's cleanup timer clears it.
		{"event-time tumbling, count trigger", window.Tumbling(ms(10)), []operators.WindowOption{every3},
			"[a[0, 10)[1 2 3] a[0, 10)[1 2 3 4 5]]"},
		{"event-time session, count trigger", window.Session(ms(10)), []operators.WindowOption{every3},
			"[a[0, 12)[1 2 3] a[0, 14)[1 2 3 4 5]]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := processHarness(t, c.a, append(c.opts, operators.WithFireAtEndOfInput())...)
			for v := range int64(5) {
				h.ProcessElement(ev{"a", v + 1}, v)
			}
			h.EndInput()
			if got := fmt.Sprint(h.Values()); got != c.want {
				t.Fatalf("fired %s, want %s", got, c.want)
			}
			if c.a.IsEventTime() {
				wantCounts(t, h, 0, 0)
			}
		})
	}
}

// Issue 19, deviation 6, as the issue states it: countWindow(3) over 5
// records emits the group of 3 only.
func TestReduceWindow_countWindow_partialGroupDropped(t *testing.T) {
	spec := window.CountWindow(3)
	h := reduceHarness(t, spec.Assigner, operators.WithTrigger(spec.Trigger))
	for v := range int64(5) {
		h.ProcessElement(ev{"a", v + 1}, operators.NoTimestamp)
	}
	h.EndInput()
	if got := fmt.Sprint(h.Values()); got != "[{a 6}]" {
		t.Fatalf("fired %s, want [{a 6}]", got)
	}
}

// matches compares s with want, where "*" in want matches anything up to
// the next character of want.
func matches(s, want string) bool {
	before, after, ok := strings.Cut(want, "*")
	if !ok {
		return s == want
	}
	return strings.HasPrefix(s, before) && strings.HasSuffix(s, after[1:]) && strings.Contains(s, after[:1])
}

// Windows and their timers survive a snapshot and move by key group
// when restored at another parallelism.
func TestWindow_snapshotRescale(t *testing.T) {
	keys := []string{"a", "b", "c", "d", "e", "f"}
	for _, assigner := range []operators.WindowAssigner{window.Tumbling(ms(10)), window.Session(ms(10))} {
		h := reduceHarness(t, assigner, operators.WithAllowedLateness(ms(5)))
		for i, k := range keys {
			h.ProcessElement(ev{k, int64(i + 1)}, 1)
			h.ProcessElement(ev{k, 10}, 4)
		}
		timers := h.Timers()
		snap := h.Snapshot(1)
		var got []string
		restoredTimers := 0
		for sub := range 2 {
			r := testkit.NewKeyedHarness(t, evKey, func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
				return operators.ReduceWindow(operators.Window(ks, assigner, operators.WithAllowedLateness(ms(5))), sumEv)
			}, testkit.WithSubtask(sub, 2), testkit.RestoreFrom(snap))
			restoredTimers += r.Timers()
			r.EndInput()
			for _, v := range r.Values() {
				got = append(got, v.K+":"+strings.Repeat("|", int(v.V)))
			}
		}
		slices.Sort(got)
		var want []string
		for i, k := range keys {
			want = append(want, k+":"+strings.Repeat("|", i+11))
		}
		if !slices.Equal(got, want) || restoredTimers != timers {
			t.Fatalf("%v: restored timers %d of %d; fired %q, want %q", assigner, restoredTimers, timers, got, want)
		}
	}
}

// Session windows whose end timers move with every record (each record
// extends its key's session by a millisecond) hold exactly one firing
// timer per session, and one cleanup timer with allowed lateness, before
// a snapshot and, split by key group, after a restore at another
// parallelism. Sessions ending at the same time fire in the order their
// timers were last set, not first.
func TestWindow_sessionTimersMoveExactly(t *testing.T) {
	keys := []string{"a", "b", "c", "d", "e", "f"}
	for _, lateness := range []int64{0, 5} {
		perSession := 1
		if lateness > 0 {
			perSession = 2
		}
		h := reduceHarness(t, window.Session(ms(10)), operators.WithAllowedLateness(ms(lateness)))
		for ts := int64(1); ts <= 30; ts++ {
			for i := range keys {
				k := keys[i]
				if ts == 30 {
					k = keys[len(keys)-1-i] // last moves in reverse order
				}
				h.ProcessElement(ev{k, 1}, ts)
			}
		}
		h.ProcessElement(ev{"a", 100}, 100) // a second session of a
		want := (len(keys) + 1) * perSession
		if h.Timers() != want {
			t.Fatalf("lateness %d: %d timers, want %d", lateness, h.Timers(), want)
		}
		snap := h.Snapshot(1)
		restored := 0
		var got []string
		for sub := range 2 {
			r := testkit.NewKeyedHarness(t, evKey, func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
				return operators.ReduceWindow(operators.Window(ks, window.Session(ms(10)), operators.WithAllowedLateness(ms(lateness))), sumEv)
			}, testkit.WithSubtask(sub, 2), testkit.RestoreFrom(snap))
			restored += r.Timers()
			r.EndInput()
			for _, v := range r.Values() {
				got = append(got, fmt.Sprint(v))
			}
		}
		slices.Sort(got)
		if wantGot := []string{"{a 100}", "{a 30}", "{b 30}", "{c 30}", "{d 30}", "{e 30}", "{f 30}"}; restored != want || !slices.Equal(got, wantGot) {
			t.Fatalf("lateness %d: restored %d timers of %d, fired %q; want %q", lateness, restored, want, got, wantGot)
		}
		h.ProcessWatermark(39)
		wantOutput(t, h.Output(), "barrier(1) {f 30}@39 {e 30}@39 {d 30}@39 {c 30}@39 {b 30}@39 {a 30}@39 watermark(39)")
		if left := (1+len(keys))*perSession - len(keys); h.Timers() != left {
			t.Fatalf("lateness %d: %d timers after the sessions fired, want %d", lateness, h.Timers(), left)
		}
	}
}

// An event-time window operator fails on a record without a timestamp.
func TestWindow_noTimestampFails(t *testing.T) {
	h := testkit.NewKeyedHarness(t, evKey, func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
		return operators.ReduceWindow(operators.Window(ks, window.Tumbling(ms(10))), sumEv)
	}, testkit.ExpectFailure())
	h.ProcessElement(ev{"a", 1}, operators.NoTimestamp)
	if !errors.Is(h.Err(), operators.ErrWindow) {
		t.Fatalf("Err = %v, want ErrWindow", h.Err())
	}
}

func TestWindow_buildErrors(t *testing.T) {
	tumbling := window.Tumbling(ms(10))
	cases := []struct {
		name  string
		build func(ks operators.KeyedStream[ev, string]) operators.Stream[ev]
		want  error
	}{
		{"aggregate on sessions without merge", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			agg := operators.Aggregate(func() int64 { return 0 }, func(a int64, e ev) int64 { return a + e.V }, nil,
				func(int64) ev { return ev{} })
			return operators.AggregateWindow(operators.Window(ks, window.Session(ms(5))), agg)
		}, operators.ErrWindow},
		{"assigner for another type", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			gap := window.DynamicSession(func(int) time.Duration { return ms(1) })
			return operators.ReduceWindow(operators.Window(ks, gap), sumEv)
		}, operators.ErrWindow},
		{"negative lateness", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			return operators.ReduceWindow(operators.Window(ks, tumbling, operators.WithAllowedLateness(-1)), sumEv)
		}, operators.ErrWindow},
		{"late tag of another type", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			tag := operators.NewOutputTag[int]("late")
			return operators.ReduceWindow(operators.Window(ks, tumbling, operators.WithLateOutput(tag)), sumEv)
		}, operators.ErrSideOutputType},
		{"side output not declared", func(ks operators.KeyedStream[ev, string]) operators.Stream[ev] {
			s := operators.ReduceWindow(operators.Window(ks, tumbling, operators.WithLateOutput(lateTag)), sumEv)
			operators.Discard(operators.GetSideOutput(s, operators.NewOutputTag[ev]("other")))
			return s
		}, operators.ErrNoSideOutput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := operators.NewPipeline("bad")
			s := c.build(operators.KeyBy(operators.FromSlice[ev](p, nil), evKey))
			operators.Discard(s)
			_, err := p.Build()
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), `operator "window-`) {
				t.Fatalf("Build: %v, want %v naming the operator", err, c.want)
			}
		})
	}
}
