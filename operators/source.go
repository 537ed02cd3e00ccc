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
	outB    batchCollector[T] // out's batch form; nil: record by record
	tc      *TaskContext
	limiter *rateLimiter
	stopped bool
	// counted wraps out for each poll: it counts what the reader emits,
	// for the rate limiter and for metrics (Chain.SourceRecords).
	counted countingCollector[T]
	emitted int64
	// brake says when the chain's output waits for credit
	// (TaskContext.brake; a brake that never stops outside a chain).
	// From then on the records the reader emits, and the events after
	// them, are held, in order, and go into the chain when the runtime
	// resumes it (release): the brake tells the runner as it turns full
	// (stop), which points counted at holder.
	brake  *brake
	holder heldCollector[T]
	held   []heldItem[T]
	heldAt int // the first item of held not released yet
	// the chain's emitters of the events a reader emits, which hold
	// them behind held records (holdEvents)
	emitWM     func(int64)
	emitStatus func(bool)
	emitEvent  func(Event)
	// codec encodes the source's records, for the held ones an unaligned
	// checkpoint stores (heldEntries)
	codec batchCodec
	// lossy says why codec cannot round-trip the records ("" if it can):
	// the default JSON codec and a type it would not encode faithfully.
	// A chained source's stream was never asked for a codec, since its
	// records need none to go through the chain; what it holds is then
	// not storable, and an unaligned checkpoint waits for it to go in.
	lossy string
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
	// Every reader emits through counted, the generator too: the brake
	// points counted at the holder as the output fills up within a poll,
	// which a reader given the chain itself would bypass.
	s.counted.next, s.counted.nextB, s.counted.n = s.out, s.outB, 0
	s.brake.refresh() // full: stop
	p, err := s.reader.Poll(&s.counted, max)
	n := s.counted.n
	s.emitted += int64(n)
	if s.limiter != nil {
		s.limiter.took(n)
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

// countingCollector is what a reader emits into during a poll: it
// counts each record and passes it on to next, the chain — or, once the
// chain's output waits for credit, the runner's holder. Switching next
// when the output fills up (stop), rather than testing before each
// record, keeps a source's path per record as short as it is without a
// memory bound: this runs for every record a source reads.
type countingCollector[T any] struct {
	next  Collector[T]
	nextB batchCollector[T] // next's batch form; nil: record by record
	n     int
	run   int // the most records a reader emits in one run (collectBatch); 0: none
}

func (c *countingCollector[T]) Collect(v T, ts int64) {
	c.n++
	c.next.Collect(v, ts)
}

func (c *countingCollector[T]) takesRuns() bool { return c.run > 0 }

// collectBatch passes a run on whole: to the chain, or, once the output
// waits for credit, to the holder (stop).
func (c *countingCollector[T]) collectBatch(es []Element[T]) {
	c.n += len(es)
	c.nextB.collectBatch(es)
}

// runLen returns the most records a reader may emit in one run; 0: it
// emits record by record (the chain does not take runs).
func (c *countingCollector[T]) runLen() int { return c.run }
