package operators

import (
	"errors"
	"time"
)

var _ ProcessingTimer = (*sourceRunner[int])(nil)

// PollStatus tells the runtime what a source wants after a poll.
type PollStatus int

const (
	// PollMore: the source has more records now; poll again soon.
	PollMore PollStatus = iota
	// PollWait: nothing now; the source calls TaskContext.Wake when data
	// comes, or, if Until is set, the runtime polls again at Until.
	PollWait
	// PollDone: the source has ended (bounded input, or stopped).
	PollDone
)

// Poll is the result of one poll of a source.
type Poll struct {
	Status PollStatus
	Until  time.Time // for PollWait: poll again at this time (zero: wait for Wake)
}

// Reader produces the records of one source subtask. Poll emits at most max
// records into out and must never block: a reader that does I/O does it on a
// goroutine it owns and hands records over through a bounded buffer.
// Implementations are called from one goroutine.
//
// A reader may also implement Snapshotter and Restorer (its read
// position), CheckpointListener, and ProcessingTimer: the runtime then
// calls OnProcessingTime at the times the reader asks for, on the
// subtask's goroutine, between polls. A reader that makes watermarks per
// split (TaskContext.EmitWatermark, TaskContext.MarkIdle) emits its
// periodic watermarks and detects idle splits there, including while it
// has nothing to poll.
type Reader[T any] interface {
	Poll(out Collector[T], max int) (Poll, error)
	Close() error
}

// SourceRunner is the runtime's view of a source subtask, with its type
// erased; the records go into the chain the runtime built after it.
type SourceRunner interface {
	// Poll emits at most max records and never blocks.
	Poll(max int) (Poll, error)
	// Stop makes the source end at its next poll, as if its input were
	// exhausted (used for a graceful stop of unbounded jobs).
	Stop()
	Close() error
}

type sourceRunner[T any] struct {
	reader  Reader[T]
	out     Collector[T]
	tc      *TaskContext
	limiter *rateLimiter
	stopped bool
	// counted wraps out for each poll: it counts what the reader emits,
	// for the rate limiter and for metrics (Chain.SourceRecords).
	counted countingCollector[T]
	emitted int64
	// brake says when the chain stops between two records: its output
	// waits for credit, or urgent mail waits (TaskContext.brake; nil: it
	// never stops). From then on the records the reader emits, and the
	// events after them, are held, in order, and go into the chain when
	// the runtime resumes it (release). sinceAsked counts the records
	// since the runtime was last asked about urgent mail.
	brake      *brake
	sinceAsked int
	held       []heldItem[T]
	heldAt     int // the first item of held not released yet
}

// heldItem is a record, or an event (a watermark, a status change)
// emitted between records, that a source holds while the chain stopped.
type heldItem[T any] struct {
	v  T
	ts int64
	ev func() // the event's emission; nil for a record
}

// Poll polls the reader. Its error names the source operator, as
// TaskContext.Fail names the operator of other failures: a chain's name
// alone does not say which of its operators failed.
func (s *sourceRunner[T]) Poll(max int) (Poll, error) {
	p, err := s.poll(max)
	if err != nil {
		var oe *OperatorError
		if !errors.As(err, &oe) {
			err = &OperatorError{Operator: s.tc.Operator, Subtask: s.tc.Subtask, Parallelism: s.tc.Parallelism, Err: err}
		}
	}
	return p, err
}

func (s *sourceRunner[T]) poll(max int) (Poll, error) {
	if s.stopped {
		return Poll{Status: PollDone}, nil
	}
	if s.limiter != nil {
		n, until := s.limiter.allow(max)
		if n == 0 {
			return Poll{Status: PollWait, Until: until}, nil
		}
		max = n
	}
	s.counted.r, s.counted.n = s, 0
	if s.brake != nil {
		s.brake.refresh()
	}
	p, err := s.reader.Poll(&s.counted, max)
	s.emitted += int64(s.counted.n)
	if s.limiter != nil {
		s.limiter.took(s.counted.n)
	}
	return p, err
}

// Emitted returns how many records the reader has emitted so far.
func (s *sourceRunner[T]) Emitted() int64 { return s.emitted }

func (s *sourceRunner[T]) Stop() { s.stopped = true }

// NextProcessingTime asks the reader, if it is a ProcessingTimer, when it
// wants OnProcessingTime; other readers want nothing.
func (s *sourceRunner[T]) NextProcessingTime() (time.Time, bool) {
	if p, ok := s.reader.(ProcessingTimer); ok {
		return p.NextProcessingTime()
	}
	return time.Time{}, false
}

// OnProcessingTime passes the time on to a reader that asked for it.
func (s *sourceRunner[T]) OnProcessingTime(now time.Time) {
	if p, ok := s.reader.(ProcessingTimer); ok {
		p.OnProcessingTime(now)
	}
}

// readerHook exposes the reader to the chain's snapshot and restore: a
// reader that implements Snapshotter and Restorer keeps its position.
func (s *sourceRunner[T]) readerHook() any { return s.reader }

func (s *sourceRunner[T]) Close() error { return s.reader.Close() }

// countingCollector is what a reader emits into during a poll.
type countingCollector[T any] struct {
	r *sourceRunner[T]
	n int
}

func (c *countingCollector[T]) Collect(v T, ts int64) {
	c.n++
	c.r.collect(v, ts)
}

// collect sends a record the reader emitted into the chain, or holds it
// when the chain stops before it or records are held already (order).
func (s *sourceRunner[T]) collect(v T, ts int64) {
	if s.holding() || s.stopBefore() {
		s.held = append(s.held, heldItem[T]{v: v, ts: ts})
		return
	}
	s.out.Collect(v, ts)
}

// stopBefore reports whether the chain stops before the next record, as
// an input batch's consumer does: the output is full (read before each
// record), or urgent mail waits (asked once yieldEvery records have gone
// in since the last question).
func (s *sourceRunner[T]) stopBefore() bool {
	b := s.brake
	if b == nil {
		return false
	}
	if b.full {
		return true
	}
	if s.sinceAsked == yieldEvery {
		s.sinceAsked = 0
		if b.urgentNow() {
			return true
		}
	}
	s.sinceAsked++
	return false
}

func (s *sourceRunner[T]) holding() bool { return s.heldAt < len(s.held) }

// release emits the held records and events, in order, until the chain
// stops again; it reports whether none is left.
func (s *sourceRunner[T]) release() bool {
	for s.holding() {
		it := &s.held[s.heldAt]
		if it.ev == nil && s.stopBefore() {
			return false
		}
		v, ts, ev := it.v, it.ts, it.ev
		*it = heldItem[T]{} // no reference kept to what left
		s.heldAt++
		if ev != nil {
			ev()
		} else {
			s.out.Collect(v, ts)
		}
	}
	s.held, s.heldAt = s.held[:0], 0
	return true
}

// holdEvents makes the events the reader emits through tc (watermarks,
// status changes, the events of a test's source) wait behind the records
// held, so that none overtakes a record emitted before it. The closure
// that holds an event is made only then: emitting costs nothing more
// otherwise.
func (s *sourceRunner[T]) holdEvents(tc *TaskContext) {
	if wm := tc.emitWM; wm != nil {
		tc.emitWM = func(w int64) {
			if !s.holding() {
				wm(w)
				return
			}
			s.hold(func() { wm(w) })
		}
	}
	if st := tc.emitStatus; st != nil {
		tc.emitStatus = func(idle bool) {
			if !s.holding() {
				st(idle)
				return
			}
			s.hold(func() { st(idle) })
		}
	}
	if emit := tc.emitEvent; emit != nil {
		tc.emitEvent = func(ev Event) {
			if !s.holding() {
				emit(ev)
				return
			}
			s.hold(func() { emit(ev) })
		}
	}
}

// hold puts an event behind the records held.
func (s *sourceRunner[T]) hold(emit func()) { s.held = append(s.held, heldItem[T]{ev: emit}) }
