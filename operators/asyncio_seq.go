package operators

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators/async"
)

// asyncSeq is the sequencer of an async operator: the AsyncSequencer the
// runtime runs apart from the subtask (a child actor of it, or inline in
// the test harness). It owns the async.Queue. It learns from the operator
// core, in input order, the records and watermarks to expect, takes the
// calls' replies, and releases what the mode allows: ordered strictly in
// input order, unordered as results complete, key-ordered in order per
// key, and in no mode across a watermark.
//
// It decides only what it can decide alone: whether a reply is current
// (the attempt it answers is the record's latest) and whether it completes
// the record (a success the retry strategy does not want to retry). Every
// other ending of an attempt (an error, a result to retry, an expiry the
// core asked for) parks the record, so that no later reply can complete
// it, and goes to the core as an outcome; the core, which owns the clock
// and the handlers, answers with a retry (a new attempt) or a settle (the
// handler's results).
type asyncSeq[In, Out any] struct {
	q     *async.Queue[*asyncRec[In], Out]
	retry async.RetryStrategy
	rel   asyncRelease[In, Out] // being built by the current message
}

// seqCmd is one command of the operator core to its sequencer.
type seqCmd[In, Out any] struct {
	op      seqOp
	rec     *asyncRec[In]
	results []Out // for seqSettle
}

type seqOp uint8

const (
	// seqExpect: rec (a record or a watermark) is next in input order.
	seqExpect seqOp = iota
	// seqExpire: rec's deadline has passed; park it and report it unless
	// it completed meanwhile.
	seqExpire
	// seqSettle: complete the parked rec with results (a handler's).
	seqSettle
)

// seqCmds is the message carrying the commands of one turn of the core.
type seqCmds[In, Out any] struct{ cmds []seqCmd[In, Out] }

// asyncRelease is the message a sequencer sends the core for one event:
// what it released, in order, and the attempts the core must decide on.
type asyncRelease[In, Out any] struct {
	out      []released[In, Out]
	outcomes []asyncOutcome[In]
	fatal    error // a call panicked or broke the batch contract
	// counts since the previous release: replies taken, records
	// completed, replies ignored as stale
	replies, completed, late int64
}

// released is a record with its results, or a watermark, let out.
type released[In, Out any] struct {
	rec     *asyncRec[In]
	results []Out
}

// asyncOutcome is an attempt that ended without completing its record,
// which the sequencer has parked: its next reply would be stale.
type asyncOutcome[In any] struct {
	rec     *asyncRec[In]
	attempt int // the attempt that ended
	err     error
	delay   time.Duration // retry strategy's delay, when retry
	retry   bool          // the strategy wants another attempt
	expired bool          // the core's seqExpire, not a reply
}

var _ AsyncSequencer = (*asyncSeq[int, int])(nil)

func newAsyncSeq[In, Out any](mode async.Mode, capacity int, retry async.RetryStrategy) (*asyncSeq[In, Out], error) {
	q, err := async.NewQueue[*asyncRec[In], Out](mode, capacity)
	if err != nil {
		return nil, err
	}
	return &asyncSeq[In, Out]{q: q, retry: retry}, nil
}

// Receive implements AsyncSequencer. Any other message is a bug of the
// runtime: it panics, which fails the subtask.
func (s *asyncSeq[In, Out]) Receive(msg any) any {
	switch m := msg.(type) {
	case *seqCmds[In, Out]:
		for i := range m.cmds {
			s.command(&m.cmds[i])
		}
	case *asyncReply[In, Out]:
		s.reply(m)
	default:
		panic(fmt.Sprintf("operators: async sequencer got a %T", msg))
	}
	for e, ok := s.q.Pop(); ok; e, ok = s.q.Pop() {
		if e.IsMarker() {
			s.rel.out = append(s.rel.out, released[In, Out]{rec: e.Marker.(*asyncRec[In])})
		} else {
			s.rel.out = append(s.rel.out, released[In, Out]{rec: e.In, results: e.Results})
		}
	}
	return s.take()
}

// take returns the release built so far, or nil if it holds nothing.
func (s *asyncSeq[In, Out]) take() any {
	r := s.rel
	if len(r.out) == 0 && len(r.outcomes) == 0 && r.fatal == nil && r.replies == 0 {
		return nil
	}
	s.rel = asyncRelease[In, Out]{}
	return &r
}

func (s *asyncSeq[In, Out]) command(c *seqCmd[In, Out]) {
	switch c.op {
	case seqExpect:
		s.expect(c.rec)
	case seqExpire:
		if s.park(c.rec) {
			s.rel.outcomes = append(s.rel.outcomes, asyncOutcome[In]{rec: c.rec, expired: true})
		}
	case seqSettle:
		if s.q.Complete(c.rec.h, c.results) {
			s.rel.completed++
		}
	}
}

// expect enters a record or watermark into the queue. The core never has
// more than Capacity entries not yet emitted, and the queue holds fewer,
// so it is never full; if it were, the subtask fails.
func (s *asyncSeq[In, Out]) expect(rec *asyncRec[In]) {
	var err error
	if rec.marker {
		err = s.q.PutMarker(rec)
	} else {
		rec.h, err = s.q.Put(rec, rec.ts, rec.key)
	}
	if err != nil && s.rel.fatal == nil {
		s.rel.fatal = fmt.Errorf("async sequencer: %w", err)
	}
}

// park makes rec's current attempt stale, if rec still awaits completion.
func (s *asyncSeq[In, Out]) park(rec *asyncRec[In]) bool {
	_, ok := s.q.NextAttempt(rec.h)
	return ok
}

// reply settles each record of a call whose attempt is still current: a
// reply to an attempt that was parked, or to a record already completed,
// is ignored, so a record completes once.
func (s *asyncSeq[In, Out]) reply(r *asyncReply[In, Out]) {
	s.rel.replies++
	if r.fatal {
		if s.rel.fatal == nil {
			s.rel.fatal = r.err
		}
		return
	}
	for i, it := range r.call.items {
		if att, ok := s.q.Attempt(it.rec.h); !ok || att != it.attempt {
			s.rel.late++
			continue
		}
		var res []Out
		if r.err == nil {
			res = r.results[i]
		}
		delay, retry := s.retry.Next(it.attempt, r.err, r.err == nil && len(res) == 0)
		if r.err == nil && !retry {
			s.q.Complete(it.rec.h, res)
			s.rel.completed++
			continue
		}
		s.park(it.rec)
		s.rel.outcomes = append(s.rel.outcomes, asyncOutcome[In]{rec: it.rec, attempt: it.attempt,
			err: r.err, delay: delay, retry: retry})
	}
}
