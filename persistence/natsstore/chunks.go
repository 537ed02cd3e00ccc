package natsstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Writing an object. nats.go's ObjectStore.Put is not used: it publishes
// the chunks asynchronously from one reused message and buffer, and a
// chunk answered "no responders" (a stream without a leader, as during
// an election) is published again by nats.go 250 ms later — after the
// chunks that followed it, and with whatever the buffer holds by then.
// The object is then committed with its chunks out of order or
// replaced, and every read of it fails its digest. objectWriter writes
// the same layout (NATS ADR-20, so nats.go reads it) and proves what it
// wrote before it commits the description:
//
//   - each chunk is its own message, published once by nats.go, a few
//     ahead of their acknowledgements (chunkWindow);
//   - each chunk's acknowledgement must carry a stream sequence above the
//     previous chunk's, so the acknowledged chunks are stored in order;
//   - when a chunk's acknowledgement does not come (a timeout, no leader,
//     a reconnection), the chunks from it on are sent again, in order,
//     once every message of the chunk subject after the last chunk
//     acknowledged in order is deleted: a leader that stepped down drops
//     some chunks while its successor stores the ones that follow, so
//     the copies that went through may be out of order;
//   - the chunk subject must hold exactly as many messages as chunks
//     were written, which a copy stored after that deletion breaks.
//
// Only then is the description (size, chunk count, SHA-256 digest)
// published. A write that cannot prove this fails, and leaves nothing.

const (
	// chunkSize is the size of an object's chunks (nats.go's default).
	chunkSize = 128 << 10
	// chunkWindow is how many chunks are published ahead of their
	// acknowledgements.
	chunkWindow = 8
	// ackTimeout is how long a chunk's acknowledgement is awaited before
	// the chunk is sent again: long enough for a replicated write on a
	// loaded machine, short next to an election.
	ackTimeout = 5 * time.Second
)

// errChunkOrder reports that an object's chunks were not stored once each
// in order: the object would be unreadable and is not committed. A write
// from data that can be sent again is retried under a new NUID.
var errChunkOrder = errors.New("natsstore: object chunks not stored in order")

// errCodeDuplicateInProcess is the server's answer to a message whose ID
// is that of one still being stored (JetStream error code 10158).
const errCodeDuplicateInProcess = 10158

// pendingChunk is a chunk published and not yet acknowledged.
type pendingChunk struct {
	index uint32
	data  []byte
	ack   jetstream.PubAckFuture
	err   error // the publish itself failed
	// answered: ack's answer (or its absence) has been taken, so that it
	// is not waited for again.
	answered bool
}

// objectWriter writes one object's chunks; see the comment above.
type objectWriter struct {
	s    *Store
	b    *buckets
	ctx  context.Context
	name string
	nuid string
	subj string // the chunk subject

	pending []*pendingChunk
	lastSeq uint64 // stream sequence of the last acknowledged chunk
	chunks  uint32
	size    uint64
	sum     hash.Hash
	backoff time.Duration
	failing time.Time // when the oldest pending chunk first failed
}

func (s *Store) newObjectWriter(ctx context.Context, b *buckets, name string) *objectWriter {
	id := nuid.Next()
	return &objectWriter{s: s, b: b, ctx: ctx, name: name, nuid: id,
		subj: fmt.Sprintf("$O.%s.C.%s", s.CheckpointBucket(), id), sum: sha256.New(), backoff: firstBackoff}
}

// writeObject stores the object name from r, whole, and returns how many
// bytes it read from r. ctx ends the waits (r is expected to fail then
// too). When it fails, it removes the chunks it wrote, best effort.
func (s *Store) writeObject(ctx context.Context, b *buckets, name string, r io.Reader) (int64, error) {
	old, err := b.obj.GetInfo(ctx, name, jetstream.GetObjectInfoShowDeleted())
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, err
	}
	w := s.newObjectWriter(ctx, b, name)
	read, err := w.write(r)
	if err != nil {
		w.abandon()
		return read, err
	}
	if old != nil && old.NUID != "" && !old.Deleted {
		// The object replaced an older one of the same name, whose
		// chunks go (best effort, as nats.go does).
		_ = b.objStream.Purge(ctx, jetstream.WithPurgeSubject(fmt.Sprintf("$O.%s.C.%s", s.CheckpointBucket(), old.NUID)))
	}
	return read, nil
}

// write sends r in chunks and commits the object.
func (w *objectWriter) write(r io.Reader) (int64, error) {
	var read int64
	buf := make([]byte, chunkSize)
	for {
		n, err := io.ReadFull(r, buf)
		read += int64(n)
		if n > 0 {
			if err := w.add(buf[:n]); err != nil {
				return read, err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return read, w.commit()
		}
		if err != nil {
			return read, err
		}
	}
}

// abandon removes the chunks of a failed write once the chunks still in
// flight are answered (or timed out), so that none is stored after the
// purge; each wait is bounded, and the purge takes at most
// attemptTimeout.
func (w *objectWriter) abandon() {
	w.settleAll()
	ctx, cancel := context.WithTimeout(w.s.done, attemptTimeout)
	defer cancel()
	if err := w.b.objStream.Purge(ctx, jetstream.WithPurgeSubject(w.subj)); err != nil {
		w.s.cfg.Logger.Debug("store: could not remove the chunks of a failed object write", "object", w.name, "err", err)
	}
}

// add publishes a chunk (a copy of data) and, with a full window, waits
// for the oldest one's acknowledgement.
func (w *objectWriter) add(data []byte) error {
	c := &pendingChunk{index: w.chunks, data: append([]byte(nil), data...)}
	w.chunks++
	w.size += uint64(len(data))
	w.sum.Write(data)
	w.publish(c)
	w.pending = append(w.pending, c)
	if len(w.pending) < chunkWindow {
		return nil
	}
	return w.settleOldest()
}

// publish sends c (again): nats.go must not send it again by itself (it
// would, on "no responders", after the chunks that follow). No message
// ID: a copy sent again must be stored again, its predecessor having
// been deleted (trim).
func (w *objectWriter) publish(c *pendingChunk) {
	c.answered = false
	c.ack, c.err = w.s.pub.PublishMsgAsync(&nats.Msg{Subject: w.subj, Data: c.data}, jetstream.WithRetryAttempts(0))
}

// settleOldest waits for the oldest pending chunk's acknowledgement.
// While it fails with an error that may go away, for up to
// Config.Timeout since it began to fail, it waits for every pending
// chunk's answer, deletes what the chunk subject holds after the last
// chunk acknowledged in order (trim), and sends the pending chunks
// again, in order.
func (w *objectWriter) settleOldest() error {
	for {
		err := w.awaitOldest()
		if err == nil {
			w.failing, w.backoff = time.Time{}, firstBackoff
			return nil
		}
		if !transient(err) {
			return err
		}
		if w.failing.IsZero() {
			w.failing = time.Now()
		} else if time.Since(w.failing) > w.s.cfg.Timeout {
			return fmt.Errorf("%w: chunk %d of object %q not acknowledged within %v: %v",
				ErrUnavailable, w.pending[0].index, w.name, w.s.cfg.Timeout, err)
		}
		w.s.cfg.Logger.Debug("store: sending object chunks again", "object", w.name,
			"from", w.pending[0].index, "chunks", len(w.pending), "err", err)
		w.settleAll()
		if err := w.sleep(); err != nil {
			return err
		}
		if err := w.trim(); err != nil {
			return err
		}
		for _, c := range w.pending {
			w.publish(c)
		}
	}
}

// awaitOldest waits for the oldest pending chunk's acknowledgement and
// checks that the chunk is stored after the previous one.
func (w *objectWriter) awaitOldest() error {
	c := w.pending[0]
	if c.err != nil {
		return c.err
	}
	c.answered = true // whatever comes out of the select below
	// The publisher times acknowledgements out (ackTimeout); this timer
	// only guards against one that never answers at all.
	t := time.NewTimer(2 * ackTimeout)
	defer t.Stop()
	select {
	case ack := <-c.ack.Ok():
		if ack.Sequence <= w.lastSeq {
			return fmt.Errorf("%w: object %q, chunk %d stored at sequence %d, not after chunk %d (sequence %d)",
				errChunkOrder, w.name, c.index, ack.Sequence, c.index-1, w.lastSeq)
		}
		w.lastSeq = ack.Sequence
		w.pending = w.pending[1:]
		return nil
	case err := <-c.ack.Err():
		return err
	case <-t.C:
		return jetstream.ErrAsyncPublishTimeout
	case <-w.ctx.Done():
		return context.Cause(w.ctx)
	case <-w.s.done.Done():
		return w.s.closedErr()
	}
}

func (w *objectWriter) sleep() error {
	t := time.NewTimer(w.backoff)
	defer t.Stop()
	w.backoff = min(2*w.backoff, maxBackoff)
	select {
	case <-t.C:
		return nil
	case <-w.ctx.Done():
		return context.Cause(w.ctx)
	case <-w.s.done.Done():
		return w.s.closedErr()
	}
}

// settleAll waits until every pending chunk is answered or timed out
// (each wait bounded), so that no copy of one is on its way when the
// chunk subject is trimmed or purged.
func (w *objectWriter) settleAll() {
	for _, c := range w.pending {
		if c.err != nil || c.answered {
			continue
		}
		c.answered = true
		t := time.NewTimer(2 * ackTimeout)
		select {
		case <-c.ack.Ok():
		case <-c.ack.Err():
		case <-t.C:
		case <-w.s.done.Done():
		}
		t.Stop()
	}
}

// trim deletes the messages of the chunk subject stored after the last
// chunk acknowledged in order (sequence lastSeq): copies of pending
// chunks, which are sent again.
func (w *objectWriter) trim() error {
	where := w.s.where(w.s.CheckpointBucket(), "") + fmt.Sprintf(", object %q", w.name)
	return w.s.retry(w.ctx, where, "delete the chunks stored out of order", func(ctx context.Context) error {
		for {
			m, err := w.b.objStream.GetLastMsgForSubject(ctx, w.subj)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			if m.Sequence <= w.lastSeq {
				return nil
			}
			if err := w.b.objStream.DeleteMsg(ctx, m.Sequence); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				return err
			}
		}
	})
}

// commit waits for every chunk, checks that the chunk subject holds
// exactly the chunks written, and publishes the object's description.
func (w *objectWriter) commit() error {
	for len(w.pending) > 0 {
		if err := w.settleOldest(); err != nil {
			return err
		}
	}
	where := w.s.where(w.s.CheckpointBucket(), "") + fmt.Sprintf(", object %q", w.name)
	err := w.s.retry(w.ctx, where, "count the chunks written", func(ctx context.Context) error {
		info, err := w.b.objStream.Info(ctx, jetstream.WithSubjectFilter(w.subj))
		if err != nil {
			return err
		}
		if got := info.State.Subjects[w.subj]; got != uint64(w.chunks) {
			return final{fmt.Errorf("%w: object %q: %d chunks stored, %d written", errChunkOrder, w.name, got, w.chunks)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	info := jetstream.ObjectInfo{ObjectMeta: jetstream.ObjectMeta{Name: w.name, Opts: &jetstream.ObjectMetaOptions{ChunkSize: chunkSize}},
		Bucket: w.s.CheckpointBucket(), NUID: w.nuid, Size: w.size, Chunks: w.chunks, Digest: jetstream.GetObjectDigestValue(w.sum)}
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return w.s.retry(w.ctx, where, "write the object's description", func(ctx context.Context) error {
		m := nats.NewMsg(objectMetaSubject(w.s.CheckpointBucket(), w.name))
		m.Data = data
		m.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
		m.Header.Set(jetstream.MsgIDHeader, w.nuid+".meta")
		_, err := w.s.pub.PublishMsg(ctx, m)
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeDuplicateInProcess {
			return errWriteInProcess
		}
		return err
	})
}
