package operators_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

// visit is a page view of a user, taking ms milliseconds.
type visit struct {
	User, Page string
	Ms         int64
}

func visitUser(v visit) string { return v.User }

type avgAcc struct{ Sum, N int64 }

// The named states of every kind that profile keeps per user.
var (
	lastPage  = operators.ValueDescriptor[string]{Name: "last-page"}
	pages     = operators.ListDescriptor[string]{Name: "pages"}
	perPage   = operators.MapDescriptor[string, int]{Name: "per-page"}
	totalMs   = operators.NewReducingDescriptor("total-ms", func(a, b int64) int64 { return a + b })
	averageMs = operators.NewAggregatingDescriptor("average-ms", operators.Aggregate(
		func() avgAcc { return avgAcc{} },
		func(a avgAcc, ms int64) avgAcc { return avgAcc{a.Sum + ms, a.N + 1} },
		nil,
		func(a avgAcc) int64 { return a.Sum / a.N }))
)

// profile keeps five named states of different kinds per user and emits
// what they hold after each visit.
func profile(ctx *operators.KeyedContext[string], v visit, out operators.Collector[string]) error {
	last, err1 := operators.GetValueState(ctx, lastPage)
	list, err2 := operators.GetListState(ctx, pages)
	counts, err3 := operators.GetMapState(ctx, perPage)
	total, err4 := operators.GetReducingState(ctx, totalMs)
	avg, err5 := operators.GetAggregatingState(ctx, averageMs)
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return err
	}
	prev, _ := last.Value()
	last.Update(v.Page)
	list.Add(v.Page)
	n, _ := counts.Get(v.Page)
	counts.Put(v.Page, n+1)
	total.Add(v.Ms)
	avg.Add(v.Ms)
	t, _ := total.Get()
	a, _ := avg.Get()
	perPage := maps.Collect(counts.All())
	out.Collect(fmt.Sprintf("%s prev=%q pages=%v counts=%v total=%d avg=%d", ctx.Key(), prev, list.Get(), perPage, t, a),
		ctx.Timestamp())
	return nil
}

func profiles(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
	return operators.ProcessKeyed(ks, profile).Name("profile")
}

// A keyed function keeps any number of named states of every kind (issue
// 18, item 3), each scoped to the current key, snapshotted and restored
// by name, on either state backend.
func TestProcessKeyed_namedStatesOfEveryKind(t *testing.T) {
	for _, backend := range []string{operators.StateBackendHeap, operators.StateBackendBolt} {
		t.Run(backend, func(t *testing.T) {
			h := testkit.NewKeyedHarness(t, visitUser, profiles, testkit.WithStateBackend(backend))
			h.ProcessElement(visit{"ann", "home", 10}, 1)
			h.ProcessElement(visit{"bob", "cart", 40}, 2)
			h.ProcessElement(visit{"ann", "cart", 20}, 3)
			snap := h.Snapshot(1)
			r := testkit.NewKeyedHarness(t, visitUser, profiles, testkit.WithStateBackend(backend), testkit.RestoreFrom(snap))
			r.ProcessElement(visit{"ann", "home", 30}, 4)
			r.ProcessElement(visit{"bob", "pay", 50}, 5)
			want := []string{
				`ann prev="cart" pages=[home cart home] counts=map[cart:1 home:2] total=60 avg=20`,
				`bob prev="cart" pages=[cart pay] counts=map[cart:1 pay:1] total=90 avg=45`,
			}
			if got := r.Values(); !slices.Equal(got, want) {
				t.Fatalf("after restore:\n got %q\nwant %q", got, want)
			}
			if n := r.StateEntries(); n != 10 {
				t.Fatalf("StateEntries = %d, want 10 (5 states × 2 users)", n)
			}
		})
	}
}

// Two states of one name must be of one kind, type and TTL: the second
// asks fails the subtask, naming the state.
func TestGetState_nameOfAnotherKindFails(t *testing.T) {
	h := testkit.NewKeyedHarness(t, visitUser, func(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
		return operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[string], v visit, _ operators.Collector[string]) error {
			if _, err := operators.GetValueState(ctx, operators.ValueDescriptor[int]{Name: "seen"}); err != nil {
				return err
			}
			_, err := operators.GetListState(ctx, operators.ListDescriptor[int]{Name: "seen"})
			return err
		})
	}, testkit.ExpectFailure())
	h.ProcessElement(visit{User: "ann"}, 1)
	if err := h.Err(); err == nil || !strings.Contains(err.Error(), `state "seen"`) {
		t.Fatalf("Err = %v, want a failure naming state \"seen\"", err)
	}
}

// A state with a TTL forgets an entry once it has not been written for
// that long, on the subtask's processing-time clock.
func TestGetValueState_ttl(t *testing.T) {
	seen := operators.ValueDescriptor[int64]{Name: "seen", TTL: operators.TTLConfig{TTL: time.Minute}}
	h := testkit.NewKeyedHarness(t, visitUser, func(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
		return operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[string], v visit, out operators.Collector[string]) error {
			st, err := operators.GetValueState(ctx, seen)
			if err != nil {
				return err
			}
			before, ok := st.Value()
			st.Update(v.Ms)
			out.Collect(fmt.Sprintf("%d %v", before, ok), operators.NoTimestamp)
			return nil
		})
	})
	h.ProcessElement(visit{"ann", "a", 1}, 1)
	h.AdvanceProcessingTime(30 * time.Second)
	h.ProcessElement(visit{"ann", "b", 2}, 2)
	h.AdvanceProcessingTime(time.Minute)
	h.ProcessElement(visit{"ann", "c", 3}, 3)
	if got, want := h.Values(), []string{"0 false", "1 true", "0 false"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// With TTL visibility ReturnExpiredIfNotCleanedUp, adding to a reducing
// state whose value has expired but is not cleaned up yet reduces into
// the expired value, as Flink's TtlReduceFunction does: the sum is 1+2.
func TestGetReducingState_ttlAddReducesIntoExpired(t *testing.T) {
	sum := operators.ReducingDescriptor[int64]{Name: "sum", Reduce: func(a, b int64) int64 { return a + b },
		TTL: operators.TTLConfig{TTL: time.Minute, Visibility: operators.ReturnExpiredIfNotCleanedUp}}
	h := testkit.NewKeyedHarness(t, visitUser, func(ks operators.KeyedStream[visit, string]) operators.Stream[int64] {
		return operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[string], v visit, out operators.Collector[int64]) error {
			st, err := operators.GetReducingState(ctx, sum)
			if err != nil {
				return err
			}
			st.Add(v.Ms)
			s, _ := st.Get()
			out.Collect(s, operators.NoTimestamp)
			return nil
		})
	})
	h.ProcessElement(visit{"ann", "a", 1}, 1)
	h.AdvanceProcessingTime(2 * time.Minute) // the sum expires, not cleaned up
	h.ProcessElement(visit{"ann", "b", 2}, 2)
	if got, want := h.Values(), []int64{1, 3}; !slices.Equal(got, want) {
		t.Fatalf("sums %v, want %v: Add under ReturnExpiredIfNotCleanedUp must reduce into the expired value, as Flink's", got, want)
	}
}

// A window function keeps per-window state, its own across the window's
// firings and gone with the window, and global state, the key's across
// its windows, as Flink's ProcessWindowFunction.Context.
func TestProcessWindow_windowAndGlobalState(t *testing.T) {
	firings := operators.ValueDescriptor[int]{Name: "firings"}
	windows := operators.ReducingDescriptor[int]{Name: "windows", Reduce: func(a, b int) int { return a + b }}
	h := testkit.NewKeyedHarness(t, visitUser, func(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
		ws := operators.Window(ks, window.Tumbling(10*time.Millisecond), operators.WithAllowedLateness(10*time.Millisecond))
		return operators.ProcessWindow(ws, func(ctx *operators.WindowContext[string], vs []visit, out operators.Collector[string]) error {
			f, err1 := operators.GetValueState(ctx.WindowState(), firings)
			w, err2 := operators.GetReducingState(ctx.GlobalState(), windows)
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			n, _ := f.Value()
			f.Update(n + 1)
			w.Add(1)
			total, _ := w.Get()
			out.Collect(fmt.Sprintf("%s %v: %d records, firing %d, %d firings of the key", ctx.Key(), ctx.Window(), len(vs), n+1, total), 0)
			return nil
		})
	})
	h.ProcessElement(visit{User: "ann"}, 1)
	h.ProcessWatermark(9) // [0, 10) fires
	h.ProcessElement(visit{User: "ann"}, 3)
	h.ProcessElement(visit{User: "ann"}, 15) // late for [0, 10) but within its lateness: fires it again
	h.ProcessWatermark(19)                   // [10, 20) fires; [0, 10) is cleaned up
	want := []string{
		"ann [0, 10): 1 records, firing 1, 1 firings of the key",
		"ann [0, 10): 2 records, firing 2, 2 firings of the key",
		"ann [10, 20): 1 records, firing 1, 3 firings of the key",
	}
	if got := h.Values(); !slices.Equal(got, want) {
		t.Fatalf("got\n %q\nwant\n %q", got, want)
	}
	// Left: [10, 20)'s contents and its per-window firings, the key's
	// global count.
	if n := h.StateEntries(); n != 3 {
		t.Fatalf("StateEntries = %d, want 3: [0, 10)'s per-window state goes with the window", n)
	}
}

// firingsWindow is a tumbling window of 10 ms with an allowed lateness of
// 15 ms whose function counts its firings in a per-window value state and
// the pages it has seen in a per-window map state.
func firingsWindow(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
	firings := operators.ValueDescriptor[int]{Name: "firings"}
	pages := operators.MapDescriptor[string, bool]{Name: "pages"}
	ws := operators.Window(ks, window.Tumbling(10*time.Millisecond), operators.WithAllowedLateness(15*time.Millisecond))
	return operators.ProcessWindow(ws, func(ctx *operators.WindowContext[string], vs []visit, out operators.Collector[string]) error {
		f, err1 := operators.GetValueState(ctx.WindowState(), firings)
		p, err2 := operators.GetMapState(ctx.WindowState(), pages)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		n, _ := f.Value()
		f.Update(n + 1)
		for _, v := range vs {
			p.Put(v.Page, true)
		}
		out.Collect(fmt.Sprintf("%v firing %d, %d pages", ctx.Window(), n+1, p.Len()), 0)
		return nil
	})
}

// A window's per-window state goes with the window also when the window
// is cleaned up after a restore, before the function has asked for its
// state again: only that window's entries, of value and map states
// alike, on either backend — as in the run without a restore.
func TestProcessWindow_windowStateGoesWithItsWindowAfterRestore(t *testing.T) {
	run := func(t *testing.T, backend string, restore bool) ([]string, int) {
		h := testkit.NewKeyedHarness(t, visitUser, firingsWindow, testkit.WithStateBackend(backend))
		h.ProcessElement(visit{User: "ann", Page: "a"}, 1)
		h.ProcessWatermark(9) // [0, 10) fires
		h.ProcessElement(visit{User: "ann", Page: "b"}, 12)
		h.ProcessWatermark(19) // [10, 20) fires
		var before []string
		if restore {
			before = h.Values()
			h = testkit.NewKeyedHarness(t, visitUser, firingsWindow, testkit.WithStateBackend(backend),
				testkit.RestoreFrom(h.Snapshot(1)))
		}
		h.ProcessWatermark(24)                              // [0, 10) is cleaned up (9 + 15), without a firing
		h.ProcessElement(visit{User: "ann", Page: "c"}, 15) // late, within [10, 20)'s lateness: fires it again
		h.ProcessWatermark(100)                             // [10, 20) is cleaned up
		return append(before, h.Values()...), h.StateEntries()
	}
	want := []string{"[0, 10) firing 1, 1 pages", "[10, 20) firing 1, 1 pages", "[10, 20) firing 2, 2 pages"}
	for _, backend := range []string{operators.StateBackendHeap, operators.StateBackendBolt} {
		t.Run(backend, func(t *testing.T) {
			for _, restore := range []bool{false, true} {
				got, n := run(t, backend, restore)
				if !slices.Equal(got, want) {
					t.Errorf("restore %v: got %q, want %q", restore, got, want)
				}
				if n != 0 {
					t.Errorf("restore %v: StateEntries = %d after every window was cleaned up, want 0", restore, n)
				}
			}
		})
	}
}

// A window of the same bounds as one cleaned up, made again after a
// later restore (the restored watermark starts at −∞, so a record for
// [0, 10) is on time again, as in Flink), starts with no per-window
// state: the cleaned-up window's is gone from the snapshot too.
func TestProcessWindow_windowStateOfCleanedWindowNotRestored(t *testing.T) {
	for _, backend := range []string{operators.StateBackendHeap, operators.StateBackendBolt} {
		t.Run(backend, func(t *testing.T) {
			opts := []testkit.HarnessOption{testkit.WithStateBackend(backend)}
			h := testkit.NewKeyedHarness(t, visitUser, firingsWindow, opts...)
			h.ProcessElement(visit{User: "ann", Page: "a"}, 1)
			h.ProcessWatermark(9) // [0, 10) fires once
			h = testkit.NewKeyedHarness(t, visitUser, firingsWindow, append(opts, testkit.RestoreFrom(h.Snapshot(1)))...)
			h.ProcessWatermark(24) // [0, 10) is cleaned up, contents and timers gone
			h = testkit.NewKeyedHarness(t, visitUser, firingsWindow, append(opts, testkit.RestoreFrom(h.Snapshot(2)))...)
			h.ProcessElement(visit{User: "ann", Page: "b"}, 3) // a new [0, 10): the old one is gone
			h.ProcessWatermark(9)
			if got, want := h.Values(), []string{"[0, 10) firing 1, 1 pages"}; !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q: the per-window state of the cleaned-up window was kept", got, want)
			}
		})
	}
}

// Merging windows have no per-window state, as in Flink.
func TestProcessWindow_windowStateOfSessionsFails(t *testing.T) {
	h := testkit.NewKeyedHarness(t, visitUser, func(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
		return operators.ProcessWindow(operators.Window(ks, window.Session(10*time.Millisecond)),
			func(ctx *operators.WindowContext[string], _ []visit, _ operators.Collector[string]) error {
				_, err := operators.GetValueState(ctx.WindowState(), operators.ValueDescriptor[int]{Name: "n"})
				return err
			})
	}, testkit.ExpectFailure())
	h.ProcessElement(visit{User: "ann"}, 1)
	h.ProcessWatermark(100)
	if !errors.Is(h.Err(), operators.ErrWindowStateMerging) {
		t.Fatalf("Err = %v, want ErrWindowStateMerging", h.Err())
	}
}

// A process function's context has the operator's watermark, and emits
// side outputs with the record's timestamp.
func TestProcess_contextWatermarkAndOutput(t *testing.T) {
	odd := operators.NewOutputTag[int]("odd")
	h := testkit.NewHarness(t, func(s operators.Stream[int]) operators.Stream[string] {
		return operators.Process(s, func(ctx *operators.ProcessContext, v int, out operators.Collector[string]) error {
			if v%2 != 0 {
				ctx.Output(odd.Of(v))
				return nil
			}
			out.Collect(fmt.Sprintf("%d at watermark %d", v, ctx.CurrentWatermark()), ctx.Timestamp())
			return nil
		})
	}, testkit.WithSideOutput[string](odd))
	h.ProcessWatermark(5)
	h.ProcessElement(2, 6)
	h.ProcessElement(3, 7)
	if got := h.Values(); !slices.Equal(got, []string{"2 at watermark 5"}) {
		t.Fatalf("main output %q", got)
	}
	if got := fmt.Sprint(testkit.SideOutput(h, odd)); got != "[watermark(5) 3@7]" {
		t.Fatalf("side output %s", got)
	}
}
