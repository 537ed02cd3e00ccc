package jetstream

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/operators"
)

// queuedChunksPerSplit bounds what a subtask holds ahead of its consumer:
// this many chunks per split (plus the messages nats.go has pulled, at
// most FetchBatch per split).
const queuedChunksPerSplit = 2

// item is one message a fetcher read: a record or a dead letter.
type item[T any] struct {
	seq    uint64 // stream sequence
	stored int64  // when the server stored it, Unix nanoseconds
	v      T
	dead   *DeadLetterMsg // set instead of v under the DeadLetter policy
}

// chunk is a batch of one split's messages from its fetcher. done marks
// the split's end (bounded) after items; err is the fetcher's final
// error, after items.
type chunk[T any] struct {
	split int
	items []item[T]
	done  bool
	err   error
}

// reader is the Poll side of a JetStream source subtask. Its methods are
// called from the subtask's goroutine; its fetchers (one goroutine per
// split, owned by the reader, which starts, stops and waits for them)
// touch only the queue and their own split's consumer.
type reader[T any] struct {
	tc     *operators.TaskContext
	cfg    SourceConfig[T]
	conn   *conn
	stream jetstream.Stream
	splits []split
	clock  *splitClock // nil without watermarks or splits
	dead   operators.Collector[DeadLetterMsg]

	started bool // fetchers run; set at the first Poll, after a restore
	closed  bool
	live    int // splits not done

	q       chan chunk[T]
	waiting atomic.Bool // Poll found the queue empty: the next chunk wakes it
	cur     chunk[T]
	pos     int
	err     error
	cancel  context.CancelFunc
	kicks   []*kick // one per running fetcher
	wg      sync.WaitGroup
}

var (
	_ operators.Reader[int]        = (*reader[int])(nil)
	_ operators.Snapshotter        = (*reader[int])(nil)
	_ operators.Restorer           = (*reader[int])(nil)
	_ operators.ProcessingTimer    = (*reader[int])(nil)
	_ operators.CheckpointListener = (*reader[int])(nil)
)

// openReader connects and looks the stream up, so that a bad URL or a
// missing stream fails the subtask when it starts, and deals the splits.
// The fetchers start at the first Poll, once a restore has had its say.
func openReader[T any](tc *operators.TaskContext, cfg SourceConfig[T]) (*reader[T], error) {
	c, err := dial(cfg.URL, clientName(tc))
	if err != nil {
		return nil, err
	}
	st, err := c.stream(cfg.Stream)
	if err != nil {
		c.close()
		return nil, err
	}
	r := &reader[T]{tc: tc, cfg: cfg, conn: c, stream: st}
	if cfg.OnDecodeError == DeadLetter {
		r.dead = operators.SideOutput(tc, DeadLetters)
	}
	if r.splits, err = freshSplits(st, cfg, tc.Subtask, tc.Parallelism, nil); err != nil {
		c.close()
		return nil, err
	}
	return r, nil
}

// start runs a fetcher for every split not done and sets up the
// watermarks. A subtask without a split to read announces itself idle,
// so that it does not hold back the watermarks downstream.
func (r *reader[T]) start() {
	r.started = true
	r.q = make(chan chunk[T], queuedChunksPerSplit*max(len(r.splits), 1))
	r.cur, r.pos, r.err, r.live, r.clock = chunk[T]{}, 0, nil, 0, nil
	if len(r.splits) > 0 && r.cfg.watermarks() {
		r.clock = newSplitClock(len(r.splits), r.cfg.Watermarks, r.tc.Now(), r.tc.EmitWatermark, r.tc.MarkIdle)
		r.clock.backpressured = r.tc.Backpressured
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.kicks = cancel, nil
	for k := range r.splits {
		if r.splits[k].Done {
			if r.clock != nil {
				r.clock.finish(k)
			}
			continue
		}
		r.live++
		f := &fetcher[T]{r: r, k: k, sp: r.splits[k], stream: r.stream, cfg: &r.cfg, log: r.tc.Logger, kick: newKick()}
		r.kicks = append(r.kicks, f.kick)
		r.wg.Add(1)
		go f.run(ctx)
	}
	if r.live == 0 && !r.cfg.Bounded {
		r.tc.MarkIdle(true)
	}
}

// stop ends the fetchers and waits for them.
func (r *reader[T]) stop() {
	if !r.started {
		return
	}
	r.cancel()
	r.kickAll() // a fetcher blocked in Next waits on its kick
	r.wg.Wait()
	r.started = false
}

// send queues c for Poll, blocking while the queue is full; it reports
// false if ctx ended first. The wake-up is coalesced: only a Poll that
// found the queue empty is woken.
func (r *reader[T]) send(ctx context.Context, c chunk[T]) bool {
	select {
	case r.q <- c:
	case <-ctx.Done():
		return false
	}
	if r.waiting.CompareAndSwap(true, false) {
		r.tc.Wake()
	}
	return true
}

// Poll emits what the fetchers have ready, never waiting for them; each
// record moves its split past its message.
func (r *reader[T]) Poll(out operators.Collector[T], max int) (operators.Poll, error) {
	if !r.started {
		r.start()
	}
	for n := 0; n < max && r.fill(); n++ {
		r.emit(out, &r.cur.items[r.pos])
		r.pos++
	}
	if r.pos == len(r.cur.items) && r.err == nil && !r.finished() {
		// Raise the flag, then look again: a chunk sent before the
		// fetcher could see the flag is found here, any later one wakes.
		// The kicks make the fetchers send what they have gathered.
		r.waiting.Store(true)
		r.kickAll()
		if !r.fill() && r.err == nil && !r.finished() {
			return operators.Poll{Status: operators.PollWait}, nil
		}
		r.waiting.Store(false)
	}
	switch {
	case r.pos < len(r.cur.items):
		return operators.Poll{Status: operators.PollMore}, nil
	case r.err != nil:
		return operators.Poll{Status: operators.PollDone}, r.err
	case r.finished():
		return operators.Poll{Status: operators.PollDone}, nil
	}
	return operators.Poll{Status: operators.PollMore}, nil
}

// kickAll asks every fetcher to send its partly filled chunk.
func (r *reader[T]) kickAll() {
	for _, k := range r.kicks {
		k.fire()
	}
}

// finished reports whether a bounded source has read all its splits.
func (r *reader[T]) finished() bool { return r.cfg.Bounded && r.live == 0 }

// emit hands one message on: a record to out, a dead letter to the side
// output.
func (r *reader[T]) emit(out operators.Collector[T], it *item[T]) {
	k := r.cur.split
	r.splits[k].Next = it.seq + 1
	if it.dead != nil {
		r.dead.Collect(*it.dead, it.stored/int64(time.Millisecond))
		return
	}
	ts := it.stored / int64(time.Millisecond)
	if r.cfg.Timestamp != nil {
		ts = r.cfg.Timestamp(it.v, time.Unix(0, it.stored))
	}
	if r.clock != nil {
		r.clock.onRecord(k, ts, r.tc.Now)
	}
	out.Collect(it.v, ts)
}

// fill makes a message current if one is ready, without blocking; it
// reports whether there is one. Moving past a chunk applies its end of
// split or its error.
func (r *reader[T]) fill() bool {
	for r.pos == len(r.cur.items) {
		if r.cur.done {
			r.cur.done = false
			r.finishSplit(r.cur.split)
		}
		if r.cur.err != nil {
			r.err, r.cur.err = r.cur.err, nil
		}
		if r.err != nil {
			return false
		}
		select {
		case c := <-r.q:
			r.cur, r.pos = c, 0
		default:
			return false
		}
	}
	return true
}

func (r *reader[T]) finishSplit(k int) {
	r.splits[k].Done = true
	r.live--
	if r.clock != nil && r.live > 0 {
		r.clock.finish(k)
	}
}

// NextProcessingTime asks for the next periodic watermark or idleness
// check; a source without watermarks needs no timer.
func (r *reader[T]) NextProcessingTime() (time.Time, bool) {
	if r.clock == nil || !r.started {
		return time.Time{}, false
	}
	return r.clock.nextTime(), true
}

// OnProcessingTime emits periodic watermarks and announces idle splits.
func (r *reader[T]) OnProcessingTime(now time.Time) {
	if r.clock != nil && r.started {
		r.clock.onTime(now)
	}
}

// NotifyCheckpointComplete does nothing: the checkpoint is the position,
// and a source of ordered consumers acknowledges nothing.
func (r *reader[T]) NotifyCheckpointComplete(int64) error { return nil }

// Close stops the fetchers, closes the connection and waits for the
// fetchers; it is safe to call more than once. The connection is closed
// first so that a fetcher waiting for the server (a consumer being
// created) is answered at once.
func (r *reader[T]) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.started {
		r.cancel()
	}
	r.conn.close()
	r.stop()
	return nil
}
