package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Chunk sizes: a chunk goes to Poll when it holds this many messages or
// bytes, or, partly filled, when Poll has found the queue empty (see
// kick), so that a slow stream's records are not held back.
const (
	chunkItems = 256
	chunkBytes = 1 << 20
)

// endProbeInterval is how long a bounded split's fetcher waits for a
// message before it asks the server whether anything up to its end is
// still stored (see endRemoved).
const endProbeInterval = time.Second

// fetcher reads one split on its own goroutine with an ordered consumer
// from the split's position, decodes its messages and hands them to Poll
// in chunks.
type fetcher[T any] struct {
	r       *reader[T]
	k       int
	sp      split // a copy: Poll owns the reader's
	stream  jetstream.Stream
	cfg     *SourceConfig[T]
	log     *slog.Logger
	kick    *kick // Poll's request to hand over a partly filled chunk
	pending chunk[T]
	bytes   int
	seq     uint64 // the message being decoded, for a panic's error
	resume  uint64 // the next sequence to read: one past the last message read
}

func (f *fetcher[T]) run(ctx context.Context) {
	defer f.r.wg.Done()
	err := f.read(ctx)
	if ctx.Err() != nil {
		return // stopped: nobody polls any more
	}
	f.pending.split, f.pending.err = f.k, err
	f.pending.done = err == nil
	f.r.send(ctx, f.pending)
}

// read reads the split until its end (bounded) or an error. It returns
// nil at the end of a bounded split and ctx's error once stopped.
//
// A consumer that fails — the server refuses to create it, or nats.go's
// own attempt to recreate it (after a lost heartbeat, a reconnection, a
// deleted consumer) fails — is replaced by a new one at the fetcher's
// position, after a back-off, until cfg.RetryTimeout has passed without
// progress; a stream that no longer exists and a connection closed for
// good fail the split at once. nats.go is told to try each recreation
// once (MaxResetAttempts), so that no failure stays inside its Next,
// whose back-off nothing but the iterator's own Stop can end.
func (f *fetcher[T]) read(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: stream %s sequence %d: %v\n%s", ErrSourcePanic, f.sp.Stream, f.seq, p, debug.Stack())
		}
	}()
	if f.sp.ended() {
		return nil
	}
	f.resume = max(f.sp.Next, 1)
	f.pending = chunk[T]{split: f.k, items: make([]item[T], 0, chunkItems)}
	retry := newConsumerRetry(f.cfg.RetryTimeout)
	for {
		from := f.resume
		err := f.consume(ctx)
		var ce *consumerError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.As(err, &ce):
			return err // nil at the end of the split
		}
		if f.resume > from {
			retry.progressed()
		}
		if err := f.flush(ctx); err != nil { // what was read goes on during the back-off
			return err
		}
		if f.lasting(ce.err) || !retry.wait(ctx) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return f.readErr(ce.err)
		}
		f.log.Warn("jetstream source: the split's consumer failed; reading on with a new one",
			"stream", f.sp.Stream, "subject", f.sp.Subject, "resume_at", f.resume, "error", ce.err)
	}
}

// consume reads the split with one ordered consumer from its position,
// until the split's end (nil), a failure of the consumer
// (*consumerError) or another error.
func (f *fetcher[T]) consume(ctx context.Context) error {
	it, err := f.messages(ctx)
	if err != nil {
		return err
	}
	defer it.Stop()
	first := true
	for {
		msg, err := f.next(ctx, it)
		switch {
		case errors.Is(err, errKicked):
			if err := f.flush(ctx); err != nil {
				return err
			}
			continue
		case errors.Is(err, errIdle):
			if gone, err := f.endRemoved(ctx); gone || err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return f.readErr(err)
		}
		seq := meta.Sequence.Stream
		if first {
			f.checkGap(seq)
			first = false
		}
		if done, err := f.take(ctx, msg, meta); done || err != nil {
			return err
		}
	}
}

// take adds a message to the pending chunk; it reports true at the end
// of a bounded split.
func (f *fetcher[T]) take(ctx context.Context, msg jetstream.Msg, meta *jetstream.MsgMetadata) (bool, error) {
	seq := meta.Sequence.Stream
	if f.sp.Bounded && seq > f.sp.End {
		return true, nil // stored after the split's end: not ours
	}
	if err := f.add(ctx, msg, meta); err != nil {
		return false, err
	}
	f.resume = seq + 1
	switch {
	case !f.sp.Bounded:
		return false, nil
	case seq >= f.sp.End:
		return true, nil
	case meta.NumPending == 0:
		// Nothing stored after this message matches the filter now: the
		// rest up to the end was removed. Make sure.
		return f.endRemoved(ctx)
	}
	return false, nil
}

// messages creates the split's ordered consumer at the fetcher's
// position. Failures are *consumerError.
func (f *fetcher[T]) messages(ctx context.Context) (jetstream.MessagesContext, error) {
	cc := jetstream.OrderedConsumerConfig{
		DeliverPolicy:    jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:      f.resume,
		MaxResetAttempts: 1, // a failed recreation surfaces from Next (see read)
	}
	if f.sp.Subject != "" {
		cc.FilterSubjects = []string{f.sp.Subject}
	}
	if h := f.cfg.hooks; h != nil && h.createConsumer != nil {
		if err := h.createConsumer(f.sp.Subject); err != nil {
			return nil, &consumerError{err}
		}
	}
	rctx, cancel := context.WithTimeout(ctx, DefaultRequestTimeout)
	defer cancel()
	cons, err := f.stream.OrderedConsumer(rctx, cc)
	if err != nil {
		return nil, &consumerError{err}
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(f.cfg.FetchBatch))
	if err != nil {
		return nil, &consumerError{err}
	}
	return it, nil
}

// errKicked: Next returned because Poll asked for what is pending.
var errKicked = errors.New("kicked")

// errIdle: a bounded split's Next waited endProbeInterval in vain.
var errIdle = errors.New("no message")

// next waits for the next message, or for ctx's end. With a chunk under
// way it also returns (errKicked) when Poll asks for what is pending.
// With nothing pending a kick is left for later: it makes the next
// message go at once; a bounded split then waits at most
// endProbeInterval (errIdle), so that it can look for its end.
func (f *fetcher[T]) next(ctx context.Context, it jetstream.MessagesContext) (jetstream.Msg, error) {
	var wait context.Context = ctx
	if len(f.pending.items) > 0 {
		wait = f.kick
	} else if f.sp.Bounded {
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, endProbeInterval)
		defer cancel()
	}
	msg, err := it.Next(jetstream.NextContext(wait))
	switch {
	case err == nil:
		return msg, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case wait == f.kick && f.kick.Err() != nil:
		f.kick.reset()
		return nil, errKicked
	case wait != f.kick && errors.Is(wait.Err(), context.DeadlineExceeded):
		return nil, errIdle
	}
	return nil, &consumerError{err}
}

// endRemoved reports whether a bounded split has nothing left to read
// although the fetcher has not reached its end: no message matching its
// filter is stored from its resume position up to its end. So it is when
// those messages were removed (deleted, purged, expired, or evicted by
// the stream's limits) before they were read: the split then ends,
// rather than wait for ever for a message that no longer exists, and
// says so. Messages are only ever added after the end, so the answer
// cannot change back.
func (f *fetcher[T]) endRemoved(ctx context.Context) (bool, error) {
	filter := f.sp.Subject
	if filter == "" {
		filter = ">"
	}
	rctx, cancel := context.WithTimeout(ctx, DefaultRequestTimeout)
	defer cancel()
	m, err := f.stream.GetMsg(rctx, f.resume, jetstream.WithGetMsgSubject(filter))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case ctx.Err() != nil:
		return false, ctx.Err()
	case err != nil:
		return false, &consumerError{fmt.Errorf("look for the split's end %d: %w", f.sp.End, err)}
	case m.Sequence <= f.sp.End:
		return false, nil // still there: wait for it
	}
	f.log.Warn("jetstream source: a bounded split ends early: the messages up to its end were removed from the stream before they were read",
		"stream", f.sp.Stream, "subject", f.sp.Subject, "resume_at", f.resume, "end", f.sp.End)
	return true, nil
}

// checkGap warns when an unfiltered split resumes past its position: the
// messages between were removed (by the stream's limits, or deleted)
// before they were read, and are lost to the job.
func (f *fetcher[T]) checkGap(seq uint64) {
	if f.sp.Subject == "" && f.resume > 1 && seq > f.resume {
		f.log.Warn("jetstream source: messages removed from the stream before they were read",
			"stream", f.sp.Stream, "resume_at", f.resume, "first_stored", seq)
	}
}

// add decodes a message into the pending chunk and sends the chunk when
// it is full.
func (f *fetcher[T]) add(ctx context.Context, msg jetstream.Msg, meta *jetstream.MsgMetadata) error {
	f.seq = meta.Sequence.Stream
	it := item[T]{seq: f.seq, stored: meta.Timestamp.UnixNano()}
	v, err := f.cfg.Codec.Decode(msg.Data())
	if err != nil {
		if f.cfg.OnDecodeError != DeadLetter {
			return &DecodeError{Stream: f.sp.Stream, Subject: msg.Subject(), Sequence: f.seq, Err: err}
		}
		it.dead = &DeadLetterMsg{Stream: f.sp.Stream, Subject: msg.Subject(), Sequence: f.seq,
			Time: meta.Timestamp, Data: msg.Data(), Error: err.Error()}
	} else {
		it.v = v
	}
	f.pending.items = append(f.pending.items, it)
	f.bytes += len(msg.Data())
	if len(f.pending.items) < chunkItems && f.bytes < chunkBytes {
		return nil
	}
	return f.flush(ctx)
}

// flush sends the pending chunk, if any; its items then belong to Poll.
func (f *fetcher[T]) flush(ctx context.Context) error {
	if len(f.pending.items) == 0 {
		return nil
	}
	if !f.r.send(ctx, f.pending) {
		return ctx.Err()
	}
	f.pending = chunk[T]{split: f.k, items: make([]item[T], 0, chunkItems)}
	f.bytes = 0
	return nil
}
