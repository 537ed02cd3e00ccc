package testkit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// SourceProbe is a source whose elements the test sends one by one:
// records, watermarks, idleness and the end of input. The runtime polls it
// only while downstream has granted credit, so ExpectRequest shows the
// test when the pipeline wants more, and its absence shows backpressure.
// It has parallelism 1 and is never chained to the operator after it.
type SourceProbe[T any] struct {
	t        testing.TB
	queue    *signalQueue[sourceItem[T]]
	requests *signalQueue[struct{}]

	mu     sync.Mutex
	wake   func() // the subtask's, once opened
	credit atomic.Int64
}

type sourceItem[T any] struct {
	value     T
	ts        int64
	event     operators.Event
	done      bool
	err       error
	hasRecord bool
}

// NewSourceProbe adds a probe source to p and returns it with its stream.
func NewSourceProbe[T any](t testing.TB, p *operators.Pipeline) (*SourceProbe[T], operators.Stream[T]) {
	sp := &SourceProbe[T]{t: t, queue: newSignalQueue[sourceItem[T]](), requests: newSignalQueue[struct{}]()}
	s := operators.FromReader(p, "source-probe", func(tc *operators.TaskContext) (operators.Reader[T], error) {
		sp.mu.Lock()
		sp.wake = tc.Wake
		sp.mu.Unlock()
		return &probeReader[T]{sp: sp, tc: tc}, nil
	}).Parallelism(1)
	// Never chained to its consumer: the probe tests channels and credit.
	return sp, s.Rebalance()
}

// SendNext sends a record with event timestamp ts.
func (sp *SourceProbe[T]) SendNext(v T, ts int64) {
	sp.send(sourceItem[T]{value: v, ts: ts, hasRecord: true})
}

// SendWatermark sends a watermark after the records sent before it.
func (sp *SourceProbe[T]) SendWatermark(wm int64) {
	sp.send(sourceItem[T]{event: operators.Watermark{Time: wm}})
}

// SendIdle announces the source idle (or active again).
func (sp *SourceProbe[T]) SendIdle(idle bool) {
	sp.send(sourceItem[T]{event: operators.StreamStatus{Idle: idle}})
}

// SendBarrier sends checkpoint barrier id after the records before it, as
// a source does when a checkpoint starts; subtasks downstream align and
// snapshot on it (storing nothing unless the job checkpoints), and sink
// probes see it (ExpectBarrier).
func (sp *SourceProbe[T]) SendBarrier(id int64) {
	sp.send(sourceItem[T]{event: operators.Barrier{ID: id}})
}

// Credit returns the credit (in batches) that downstream had granted the
// source and it had not used, as of the end of its last poll. The runtime
// polls a source only while it has credit.
func (sp *SourceProbe[T]) Credit() int { return int(sp.credit.Load()) }

// SendComplete ends the source's input.
func (sp *SourceProbe[T]) SendComplete() { sp.send(sourceItem[T]{done: true}) }

// SendError makes the source fail with err at its next poll.
func (sp *SourceProbe[T]) SendError(err error) { sp.send(sourceItem[T]{err: err}) }

// Pending returns how many sent elements the source has not emitted yet.
func (sp *SourceProbe[T]) Pending() int { return sp.queue.len() }

func (sp *SourceProbe[T]) send(it sourceItem[T]) {
	sp.queue.push(it)
	sp.wakeSubtask()
}

// wakeSubtask makes the runtime poll again; before the source is opened
// there is nothing to wake: its first poll finds the items.
func (sp *SourceProbe[T]) wakeSubtask() {
	sp.mu.Lock()
	wake := sp.wake
	sp.mu.Unlock()
	if wake != nil {
		wake()
	}
}

// ExpectRequest waits until the runtime polls the source with nothing left
// to emit: downstream has credit and wants more. It fails the test after
// DefaultTimeout.
func (sp *SourceProbe[T]) ExpectRequest() {
	sp.t.Helper()
	if _, ok := sp.requests.pop(time.Now().Add(DefaultTimeout())); !ok {
		sp.t.Fatalf("testkit: source probe: no request within %v (%d elements pending): downstream gives no credit", DefaultTimeout(), sp.Pending())
	}
	sp.requests.take(1 << 30) // later polls of the same empty queue are the same request
}

// probeReader is the probe's reader inside the source subtask.
type probeReader[T any] struct {
	sp *SourceProbe[T]
	tc *operators.TaskContext
}

func (r *probeReader[T]) Poll(out operators.Collector[T], max int) (operators.Poll, error) {
	defer r.noteCredit()
	for n := 0; n < max; {
		items := r.sp.queue.take(1)
		if len(items) == 0 {
			r.sp.requests.push(struct{}{})
			return operators.Poll{Status: operators.PollWait}, nil
		}
		it := items[0]
		switch {
		case it.err != nil:
			return operators.Poll{}, fmt.Errorf("source probe: %w", it.err)
		case it.done:
			return operators.Poll{Status: operators.PollDone}, nil
		case it.hasRecord:
			out.Collect(it.value, it.ts)
			n++
		default:
			r.emit(it.event)
		}
	}
	return operators.Poll{Status: operators.PollMore}, nil
}

// noteCredit records the credit left after a poll: the runtime ships a
// full batch at once, so it shows what the records emitted used up.
func (r *probeReader[T]) noteCredit() {
	if c, ok := r.tc.Host.(interface{ OutputCredits() int }); ok {
		r.sp.credit.Store(int64(c.OutputCredits()))
	}
}

func (r *probeReader[T]) emit(ev operators.Event) {
	switch e := ev.(type) {
	case operators.Watermark:
		r.tc.EmitWatermark(e.Time)
	case operators.StreamStatus:
		r.tc.MarkIdle(e.Idle)
	case operators.Barrier:
		r.tc.EmitEvent(e)
	}
}

func (r *probeReader[T]) Close() error { return nil }
