package operators

import (
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators/window"
)

type lateRec struct {
	K string
	V int64
}

// openWindowChain opens the keyed chain (tumbling 10 ms windows with an
// allowed lateness of 5 ms, summing) of a pipeline on the given state
// backend, restored from snap if it is not nil, and returns it with the
// sums it collects.
func openWindowChain(t *testing.T, backend string, snap SubtaskState) (*Chain, *Collected[lateRec]) {
	t.Helper()
	p := NewPipeline("late").SetParallelism(1)
	ks := KeyBy(FromSlice[lateRec](p, nil), func(r lateRec) string { return r.K })
	tumbling := window.Tumbling(10 * time.Millisecond)
	sums := ReduceWindow(Window(ks, tumbling, WithAllowedLateness(5*time.Millisecond)),
		func(a, b lateRec) lateRec { return lateRec{a.K, a.V + b.V} }).Name("win")
	col := Collect(sums)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Vertices[1].Open(ChainConfig{Job: "late", BatchSize: 16, Ship: nopShipper{}, Wake: func() {},
		StateBackend: backend, StateDir: t.TempDir(), Restore: decodeRestore(t, snap)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, col
}

func feedLate(c *Chain, recs ...Element[lateRec]) {
	c.Consume(0, &Batch[lateRec]{Elems: recs})
	c.BatchEnd()
}

// Review finding 3 on both state backends: after a restore, a record
// within the allowed lateness for a window that fired before the
// snapshot fires it again at the next watermark (the restore reads the
// restored windows and timers to tell which windows fired).
func TestWindowOp_lateFiringAfterRestore_backends(t *testing.T) {
	for _, backend := range []string{StateBackendHeap, StateBackendBolt} {
		t.Run(backend, func(t *testing.T) {
			c, col := openWindowChain(t, backend, nil)
			feedLate(c, Element[lateRec]{Value: lateRec{"a", 1}, Timestamp: 1}, Element[lateRec]{Value: lateRec{"a", 5}, Timestamp: 5},
				Element[lateRec]{Value: lateRec{"a", 100}, Timestamp: 12}) // [10,20) has not fired
			watermarkLate(c, 9)
			snap, err := c.Snapshot(1)
			if err != nil {
				t.Fatal(err)
			}
			r, rcol := openWindowChain(t, backend, snap)
			if err := snap.Close(); err != nil { // a bbolt snapshot holds a read transaction until closed
				t.Fatal(err)
			}
			feedLate(r, Element[lateRec]{Value: lateRec{"a", 4}, Timestamp: 4}, Element[lateRec]{Value: lateRec{"a", 200}, Timestamp: 13})
			watermarkLate(r, 9)
			watermarkLate(r, 30)
			if err := errorsOf(c, r); err != nil {
				t.Fatal(err)
			}
			if got, want := sums(col, rcol), []int64{6, 10, 300}; !slices.Equal(got, want) {
				t.Fatalf("sums %v, want %v", got, want)
			}
		})
	}
}

// sums returns the values the collectors hold, in turn.
func sums(cols ...*Collected[lateRec]) []int64 {
	var out []int64
	for _, c := range cols {
		for _, v := range c.Values() {
			out = append(out, v.V)
		}
	}
	return out
}

// decodeRestore round-trips snap through its encoding, as a restore does;
// nil for none.
func decodeRestore(t *testing.T, snap SubtaskState) map[string][]*OperatorState {
	t.Helper()
	if snap == nil {
		return nil
	}
	data, err := snap.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := UnmarshalSubtaskState(data)
	if err != nil {
		t.Fatal(err)
	}
	restore := map[string][]*OperatorState{}
	for name, os := range decoded {
		restore[name] = []*OperatorState{os}
	}
	return restore
}

func watermarkLate(c *Chain, wm int64) {
	c.ProcessWatermark(0, wm)
	c.BatchEnd()
}

func errorsOf(cs ...*Chain) error {
	for _, c := range cs {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// The heap backend writes timers into state only for a snapshot: a
// snapshot of either backend restores into the other with its windows'
// timers, which fire there, and a snapshot taken after another still
// holds every timer (the first one's were removed from state after it,
// not from the queues).
func TestWindowOp_timersInSnapshot_acrossBackends(t *testing.T) {
	for _, pair := range [][2]string{{StateBackendHeap, StateBackendBolt}, {StateBackendBolt, StateBackendHeap}, {StateBackendHeap, StateBackendHeap}} {
		t.Run(pair[0]+"-to-"+pair[1], func(t *testing.T) {
			c, _ := openWindowChain(t, pair[0], nil)
			feedLate(c, Element[lateRec]{Value: lateRec{"a", 1}, Timestamp: 1}, Element[lateRec]{Value: lateRec{"b", 2}, Timestamp: 12},
				Element[lateRec]{Value: lateRec{"a", 3}, Timestamp: 25})
			for id := int64(1); id <= 2; id++ { // the second snapshot must hold the timers too
				snap, err := c.Snapshot(id)
				if err != nil {
					t.Fatal(err)
				}
				restore := decodeRestore(t, snap)
				if err := snap.Close(); err != nil {
					t.Fatal(err)
				}
				if id == 1 {
					continue
				}
				r, rcol := restoredWindowChain(t, pair[1], restore)
				watermarkLate(r, 100) // fires the three windows: only their timers say they exist
				if err := errorsOf(c, r); err != nil {
					t.Fatal(err)
				}
				if got, want := sums(rcol), []int64{1, 2, 3}; !slices.Equal(got, want) {
					t.Fatalf("restored chain fired %v, want %v", got, want)
				}
			}
		})
	}
}

// restoredWindowChain is openWindowChain from decoded restore parts.
func restoredWindowChain(t *testing.T, backend string, restore map[string][]*OperatorState) (*Chain, *Collected[lateRec]) {
	t.Helper()
	p := NewPipeline("late").SetParallelism(1)
	ks := KeyBy(FromSlice[lateRec](p, nil), func(r lateRec) string { return r.K })
	sums := ReduceWindow(Window(ks, window.Tumbling(10*time.Millisecond), WithAllowedLateness(5*time.Millisecond)),
		func(a, b lateRec) lateRec { return lateRec{a.K, a.V + b.V} }).Name("win")
	col := Collect(sums)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Vertices[1].Open(ChainConfig{Job: "late", BatchSize: 16, Ship: nopShipper{}, Wake: func() {},
		StateBackend: backend, StateDir: t.TempDir(), Restore: restore})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, col
}
