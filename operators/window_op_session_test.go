package operators

import (
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators/window"
)

// openSessionChain opens the keyed chain of a pipeline summing per key in
// event-time session windows of a 10 ms gap with the given allowed
// lateness, on the given state backend, restored from snap if it is not
// nil; it returns the chain, its window operator and the sums it
// collects.
func openSessionChain(t *testing.T, backend string, lateness time.Duration, snap SubtaskState) (*Chain, timerCounter, *Collected[lateRec]) {
	t.Helper()
	p := NewPipeline("sessions").SetParallelism(1)
	ks := KeyBy(FromSlice[lateRec](p, nil), func(r lateRec) string { return r.K })
	sessions := window.Session(10 * time.Millisecond)
	sums := ReduceWindow(Window(ks, sessions, WithAllowedLateness(lateness)),
		func(a, b lateRec) lateRec { return lateRec{a.K, a.V + b.V} }).Name("win")
	col := Collect(sums)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Vertices[1].Open(ChainConfig{Job: "sessions", BatchSize: 16, Ship: nopShipper{}, Wake: func() {},
		StateBackend: backend, StateDir: t.TempDir(), Restore: decodeRestore(t, snap)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	for _, h := range c.hooks {
		if tc, ok := h.(timerCounter); ok {
			return c, tc, col
		}
	}
	t.Fatal("no window operator in the chain")
	return nil, nil, nil
}

// timerCounter is the window operator's count of timer registrations.
type timerCounter interface{ timerRegistrations() int }

func rec(k string, v, ts int64) Element[lateRec] {
	return Element[lateRec]{Value: lateRec{k, v}, Timestamp: ts}
}

// A session window sets its timers when it begins and when it merges,
// not for each record: a record inside a session sets none, one that
// extends it sets the merged window's firing timer (its cleanup timer too
// when the lateness puts that later). With no lateness the firing timer
// is the cleanup timer, set once. The firings are those of Flink's window
// operator either way.
func TestWindowOp_sessionTimersPerMerge(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lateness time.Duration
		begin    int // registrations when a session begins: firing (and cleanup)
		merge    int // when it is extended: the merged window's firing (and cleanup)
	}{
		{"no lateness", 0, 1, 1},
		{"lateness", 5 * time.Millisecond, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, timers, col := openSessionChain(t, StateBackendHeap, tc.lateness, nil)
			step := func(what string, want int, recs ...Element[lateRec]) {
				t.Helper()
				before := timers.timerRegistrations()
				feedLate(c, recs...)
				if got := timers.timerRegistrations() - before; got != want {
					t.Errorf("%s: %d timer registrations, want %d", what, got, want)
				}
			}
			step("a session begins", tc.begin, rec("a", 1, 0)) // [0,10)
			step("extended", tc.merge, rec("a", 2, 8))         // [0,18)
			step("inside, out of order", 0, rec("a", 4, 3), rec("a", 8, 7), rec("a", 16, 1))
			step("another key", tc.begin, rec("b", 100, 50))                       // [50,60)
			step("extended twice", 2*tc.merge, rec("a", 32, 12), rec("a", 64, 20)) // [0,30)
			watermarkLate(c, 100)
			if err := c.Err(); err != nil {
				t.Fatal(err)
			}
			if got, want := sums(col), []int64{127, 100}; !slices.Equal(got, want) {
				t.Fatalf("sums %v, want %v", got, want)
			}
		})
	}
}

// After a restore, a record within the allowed lateness for a session
// that fired before the snapshot fires it again at the next watermark,
// and a record inside a session that has not fired yet sets no timer
// (the restore tells the two apart by the restored timers), on both state
// backends.
func TestWindowOp_sessionLateFiringAfterRestore(t *testing.T) {
	for _, backend := range []string{StateBackendHeap, StateBackendBolt} {
		t.Run(backend, func(t *testing.T) { sessionLateFiringAfterRestore(t, backend) })
	}
}

func sessionLateFiringAfterRestore(t *testing.T, backend string) {
	c, _, col := openSessionChain(t, backend, 20*time.Millisecond, nil)
	feedLate(c, rec("a", 1, 0), rec("a", 2, 5), rec("a", 100, 40), rec("a", 1000, 48)) // [0,15) and [40,58)
	watermarkLate(c, 20)                                                               // [0,15) fires: 3
	snap, err := c.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	r, timers, rcol := openSessionChain(t, backend, 20*time.Millisecond, snap)
	if err := snap.Close(); err != nil { // a bbolt snapshot holds a read transaction until closed
		t.Fatal(err)
	}
	before := timers.timerRegistrations()
	feedLate(r, rec("a", 200, 42)) // inside [40,58), which has not fired
	if n := timers.timerRegistrations() - before; n != 0 {
		t.Errorf("%d timer registrations for a record inside an open session, want 0", n)
	}
	feedLate(r, rec("a", 4, 3)) // inside [0,15), which fired: fires again
	watermarkLate(r, 20)
	watermarkLate(r, 100)
	if err := errorsOf(c, r); err != nil {
		t.Fatal(err)
	}
	if got, want := sums(col, rcol), []int64{3, 7, 1300}; !slices.Equal(got, want) {
		t.Fatalf("sums %v, want %v", got, want)
	}
}

// With the heap backend the sessions live in memory and are written
// into state only for a snapshot: a snapshot of either backend restores
// into the other, and a second snapshot holds them as the first did.
func TestWindowOp_sessionsInSnapshot_acrossBackends(t *testing.T) {
	for _, pair := range [][2]string{{StateBackendHeap, StateBackendBolt}, {StateBackendBolt, StateBackendHeap}, {StateBackendHeap, StateBackendHeap}} {
		t.Run(pair[0]+"-to-"+pair[1], func(t *testing.T) {
			c, _, _ := openSessionChain(t, pair[0], 0, nil)
			feedLate(c, rec("a", 1, 0), rec("a", 2, 8), rec("b", 4, 3), rec("a", 8, 40)) // a: [0,18) [40,50); b: [3,13)
			var snap SubtaskState
			for id := int64(1); id <= 2; id++ {
				s, err := c.Snapshot(id)
				if err != nil {
					t.Fatal(err)
				}
				if snap != nil {
					if err := snap.Close(); err != nil {
						t.Fatal(err)
					}
				}
				snap = s
			}
			r, _, rcol := openSessionChain(t, pair[1], 0, snap)
			if err := snap.Close(); err != nil {
				t.Fatal(err)
			}
			feedLate(r, rec("a", 16, 15)) // extends [0,18) to [0,25): the restored session merges
			watermarkLate(r, 100)
			if err := errorsOf(c, r); err != nil {
				t.Fatal(err)
			}
			got := sums(rcol)
			slices.Sort(got)
			if want := []int64{4, 8, 19}; !slices.Equal(got, want) {
				t.Fatalf("restored sessions fired %v, want %v", got, want)
			}
		})
	}
}
