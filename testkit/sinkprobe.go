package testkit

import (
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// SinkProbe is a sink that consumes only what the test grants with
// Request, and whose input the test reads in order: records, watermarks and
// the end of input. Until the test requests, the sink takes nothing, so
// credit stops flowing upstream and backpressure reaches the sources. It
// has parallelism 1 and is never chained to the operator before it.
// Events (watermarks) behind the last granted record wait for the next
// grant, as they wait behind records on a channel.
//
// Credit is granted in records but taken in batches: with a batch size
// above 1 the sink may take up to a batch more than requested, so
// backpressure tests run with batch size 1 (RunnerOption WithBatchSize).
type SinkProbe[T any] struct {
	t     testing.TB
	items *signalQueue[Item[T]]
	done  *signalQueue[struct{}]

	mu      sync.Mutex
	granted int64 // records requested so far
	taken   int64 // records written so far
	ended   bool  // input ended: nothing more to hold back
	wake    func()
}

// NewSinkProbe adds a probe sink consuming s.
func NewSinkProbe[T any](t testing.TB, s operators.Stream[T]) *SinkProbe[T] {
	sp := &SinkProbe[T]{t: t, items: newSignalQueue[Item[T]](), done: newSignalQueue[struct{}]()}
	operators.ToSink(s.Rebalance(), "sink-probe", func(tc *operators.TaskContext) (operators.SinkWriter[T], error) {
		sp.mu.Lock()
		sp.wake = tc.Wake
		sp.mu.Unlock()
		return (*probeWriter[T])(sp), nil
	}).Parallelism(1)
	return sp
}

// Request grants the sink n more records.
func (sp *SinkProbe[T]) Request(n int) {
	sp.mu.Lock()
	sp.granted += int64(n)
	wake := sp.wake
	sp.mu.Unlock()
	if wake != nil {
		wake()
	}
}

// ExpectNext takes the next records and fails the test unless their
// values equal want (reflect.DeepEqual), in order.
func (sp *SinkProbe[T]) ExpectNext(want ...T) {
	sp.t.Helper()
	for i, w := range want {
		it := sp.next("record " + show(w))
		if !it.IsRecord() || !reflect.DeepEqual(it.Value, w) {
			sp.t.Fatalf("testkit: sink probe: element %d: expected record %s, got %s", i, show(w), it)
		}
	}
}

// ExpectNextN takes the next n records and returns their values.
func (sp *SinkProbe[T]) ExpectNextN(n int) []T {
	sp.t.Helper()
	vs := make([]T, n)
	for i := range vs {
		it := sp.next("a record")
		if !it.IsRecord() {
			sp.t.Fatalf("testkit: sink probe: expected a record, got %s", it)
		}
		vs[i] = it.Value
	}
	return vs
}

// ExpectWatermark skips nothing: the next element must be watermark wm.
func (sp *SinkProbe[T]) ExpectWatermark(wm int64) {
	sp.t.Helper()
	want := operators.Watermark{Time: wm}
	if it := sp.next(want.String()); it.Event != want {
		sp.t.Fatalf("testkit: sink probe: expected %s, got %s", want, it)
	}
}

// ExpectBarrier takes the next element, which must be checkpoint barrier
// id (the sink sees a barrier when it is asked to snapshot).
func (sp *SinkProbe[T]) ExpectBarrier(id int64) {
	sp.t.Helper()
	want := operators.Barrier{ID: id}
	if it := sp.next(want.String()); it.Event != want {
		sp.t.Fatalf("testkit: sink probe: expected %s, got %s", want, it)
	}
}

// ExpectComplete lifts the sink's limit (end of input needs no demand, but
// it waits behind the messages before it) and waits for the end of input;
// every element before it must have been expected, except the final
// watermark(max).
func (sp *SinkProbe[T]) ExpectComplete() {
	sp.t.Helper()
	sp.Request(math.MaxInt32) // more than any test sends; 1<<40 overflowed int on 32-bit platforms
	if _, ok := sp.done.pop(time.Now().Add(DefaultTimeout())); !ok {
		sp.t.Fatalf("testkit: sink probe: no end of input within %v", DefaultTimeout())
	}
	// The watermark of the end of input comes just before it.
	for _, it := range sp.items.take(1 << 30) {
		if it.Event != (operators.Watermark{Time: operators.MaxWatermark}) {
			sp.t.Fatalf("testkit: sink probe: end of input before element %s was expected", it)
		}
	}
}

// ExpectNoElement waits d (dilated) and fails the test if an element
// arrives: nothing was granted, or the pipeline is backpressured.
func (sp *SinkProbe[T]) ExpectNoElement(d time.Duration) {
	sp.t.Helper()
	if it, ok := sp.items.pop(time.Now().Add(Dilated(d))); ok {
		sp.t.Fatalf("testkit: sink probe: expected nothing for %v, got %s", Dilated(d), it)
	}
}

func (sp *SinkProbe[T]) next(what string) Item[T] {
	sp.t.Helper()
	it, ok := sp.items.pop(time.Now().Add(DefaultTimeout()))
	if !ok {
		sp.mu.Lock()
		granted, taken := sp.granted, sp.taken
		sp.mu.Unlock()
		sp.t.Fatalf("testkit: sink probe: expected %s within %v, got nothing (requested %d, taken %d)", what, DefaultTimeout(), granted, taken)
	}
	return it
}

// probeWriter is the probe inside the sink subtask.
type probeWriter[T any] SinkProbe[T]

func (w *probeWriter[T]) Write(v T, ts int64) error {
	w.mu.Lock()
	w.taken++
	w.mu.Unlock()
	w.items.push(Item[T]{Value: v, Timestamp: ts})
	return nil
}

// Blocked holds the sink's input while the test has granted nothing more.
func (w *probeWriter[T]) Blocked() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.ended && w.taken >= w.granted
}

func (w *probeWriter[T]) ProcessWatermark(wm int64) (int64, bool) {
	w.items.push(Item[T]{Event: operators.Watermark{Time: wm}})
	return wm, true
}

// SnapshotState records the barrier the sink was asked to snapshot at; the
// probe has no state.
func (w *probeWriter[T]) SnapshotState(id int64) (*operators.OperatorState, error) {
	w.items.push(Item[T]{Event: operators.Barrier{ID: id}})
	return nil, nil
}

func (w *probeWriter[T]) EndInput() error {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
	w.done.push(struct{}{})
	return nil
}
