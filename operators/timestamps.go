package operators

import (
	"time"

	"github.com/troupe-dev/troupe/watermark"
)

// WatermarkStrategy says how a stream's records get their event timestamps
// and how its watermarks are made.
type WatermarkStrategy[T any] struct {
	watermark.Strategy
	// Timestamp extracts a record's event time in epoch milliseconds; it
	// is given the timestamp the record already has. nil keeps that one.
	Timestamp func(v T, previous int64) int64
}

// AssignTimestamps gives each record the timestamp ws.Timestamp extracts
// and makes watermarks from them: at every record (punctuated generators)
// and every ws.Interval of processing time (periodic generators). Each
// subtask has its own generator; with ws.IdleTimeout set, a subtask that
// has had no record for that long is announced idle so that it does not
// hold back downstream watermarks. Watermarks from upstream are dropped,
// except the final MaxWatermark, and so are idle/active announcements
// from upstream: the assigner is the new source of event time.
//
// Chained right after a source (same parallelism), it acts per source
// subtask, as Flink's assignTimestampsAndWatermarks does.
func AssignTimestamps[T any](s Stream[T], ws WatermarkStrategy[T]) Stream[T] {
	n := s.n.p.addNode(kindOperator, "timestamps", newStreamOps[T]())
	connect(s, n)
	if err := ws.Validate(); err != nil {
		n.p.fail(n, err)
	}
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		op := newAssigner(tc, ws, out.(Collector[T]))
		return &instance{inputs: []any{Collector[T](op)}, hooks: op}, nil
	}
	return newStream[T](n)
}

type assignerOp[T any] struct {
	ts  func(T, int64) int64
	gen watermark.Generator
	// bounded is gen when it is a bounded-out-of-orderness generator,
	// the common one: called directly, its OnEvent is inlined (it never
	// emits a watermark)
	bounded  *watermark.BoundedGenerator
	out      Collector[T]
	outB     batchCollector[T] // out's batch form; nil: record by record
	buf      []Element[T]      // the run it hands on (see batch_path.go)
	tc       *TaskContext
	interval time.Duration
	next     time.Time // next periodic watermark
	idle     *watermark.IdleDetector
	isIdle   bool
	seen     bool // a record came since the last processing-time call
}

func newAssigner[T any](tc *TaskContext, ws WatermarkStrategy[T], out Collector[T]) *assignerOp[T] {
	now := tc.Now()
	a := &assignerOp[T]{ts: ws.Timestamp, gen: ws.NewGenerator(), out: out, tc: tc,
		interval: ws.PeriodicInterval(), next: now.Add(ws.PeriodicInterval())}
	a.bounded, _ = a.gen.(*watermark.BoundedGenerator)
	a.outB = runsOf(out)
	if ws.IdleTimeout > 0 {
		a.idle = watermark.NewIdleDetector(ws.IdleTimeout, now.UnixMilli())
	}
	return a
}

func (a *assignerOp[T]) Collect(v T, ts int64) {
	if a.ts != nil {
		ts = a.ts(v, ts)
	}
	a.seen = true
	if a.isIdle {
		a.isIdle = false
		a.idle.OnRecord(a.tc.Now().UnixMilli())
		a.tc.MarkIdle(false)
	}
	a.out.Collect(v, ts)
	if a.bounded != nil {
		a.bounded.OnEvent(ts)
		return
	}
	if wm, ok := a.gen.OnEvent(ts); ok {
		a.tc.EmitWatermark(wm)
	}
}

// takesRuns: only with the bounded generator, which emits no watermark
// per record, so that none has to go between two records of a run.
func (a *assignerOp[T]) takesRuns() bool { return a.outB != nil && a.bounded != nil }

// collectBatch stamps a run and hands it on whole; an idle assigner goes
// record by record, so that its status turns active before the first.
func (a *assignerOp[T]) collectBatch(es []Element[T]) {
	if a.isIdle {
		for i := range es {
			a.Collect(es[i].Value, es[i].Timestamp)
		}
		return
	}
	buf := a.buf[:0]
	for i := range es {
		ts := es[i].Timestamp
		if a.ts != nil {
			ts = a.ts(es[i].Value, ts)
		}
		a.bounded.OnEvent(ts)
		buf = append(buf, Element[T]{Value: es[i].Value, Timestamp: ts})
	}
	a.seen = true
	a.buf = buf
	a.outB.collectBatch(buf)
}

// ProcessWatermark drops upstream watermarks: this operator makes its own.
// The end of input (MaxWatermark) still passes; an assigner that has
// announced itself idle first announces "active", or downstream would
// ignore it.
func (a *assignerOp[T]) ProcessWatermark(wm int64) (int64, bool) {
	if wm != MaxWatermark {
		return wm, false
	}
	if a.isIdle {
		a.isIdle = false
		a.tc.MarkIdle(false)
	}
	return wm, true
}

// ProcessStatus keeps upstream idle/active announcements: the assigner
// is the new source of event time, and only its own idleness (its
// IdleTimeout) says whether its output is idle, as in Flink's
// TimestampsAndWatermarksOperator. An idle input must not silence the
// watermarks it makes, nor an active one override its own idleness.
func (a *assignerOp[T]) ProcessStatus(bool) bool { return false }

func (a *assignerOp[T]) NextProcessingTime() (time.Time, bool) {
	next := a.next
	if a.idle != nil && !a.isIdle {
		if at, ok := a.idle.Deadline(); ok && time.UnixMilli(at).Before(next) {
			next = time.UnixMilli(at)
		}
	}
	return next, true
}

func (a *assignerOp[T]) OnProcessingTime(now time.Time) {
	if !now.Before(a.next) {
		if wm, ok := a.gen.OnPeriodic(); ok && !a.isIdle {
			a.tc.EmitWatermark(wm)
		}
		a.next = now.Add(a.interval)
	}
	if a.idle == nil {
		return
	}
	ms := now.UnixMilli()
	if a.seen || (!a.isIdle && a.tc.Backpressured()) {
		// A record came, or the output waits for credit: the records
		// the source would emit are held back, not missing. The
		// idleness timer restarts (Flink pauses it), so a source is
		// idle only after a whole timeout with credit and no record.
		a.seen = false
		a.idle.OnRecord(ms)
	}
	if a.idle.Check(ms) {
		a.isIdle = true
		a.tc.MarkIdle(true)
	}
}
