package natsstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/persistence"
)

// Objects. The object store is a stream (OBJ_<bucket>) whose subject
// $O.<bucket>.M.<base64url(name)> holds an object's description and
// $O.<bucket>.C.<nuid> its chunks (NATS ADR-20). nats.go deletes an
// object by writing a "deleted" description, which stays in the stream
// for ever: with checkpoints every few hundred milliseconds those
// markers would pile up. This store removes both subjects outright
// instead (stream purges), and lists objects by the subjects alone.

// minReadRate is the slowest rate at which an object is expected to
// arrive: a read of n bytes may take attemptTimeout + n/minReadRate.
const minReadRate = 4 << 20 // bytes per second

// objectBody is what putObject writes: data, which it can send again,
// or a state streamed from src (Size size), which it can send once.
type objectBody struct {
	data []byte
	size int64
	src  persistence.StateSource
}

// putObject stores an object. Within an attempt, writeObject sends again
// the chunks that a leader change lost; an attempt that fails all the
// same is retried while body can be sent again: data always, a streamed
// state until its first byte is read (and it first waits, retrying, for
// the bucket's leader to answer, so that a write does not begin during
// an election). It leaves no object when it fails or when ctx ends.
func (s *Store) putObject(ctx context.Context, b *buckets, name string, body objectBody) error {
	deadline := time.Now().Add(s.cfg.Timeout)
	backoff := firstBackoff
	for {
		read, err := s.putOnce(ctx, b, name, body)
		if err == nil && ctx.Err() != nil {
			err = context.Cause(ctx) // too late: written for nothing
		}
		if err == nil {
			return nil
		}
		s.dropObject(b, name)
		// Chunks found out of order: data is sent again under a new NUID.
		retryable := transient(err) || (body.data != nil && errors.Is(err, errChunkOrder))
		switch {
		case s.done.Err() != nil:
			return s.closedErr()
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case errors.Is(err, ErrUnavailable):
			return err
		case !retryable || (body.data == nil && read > 0):
			return fmt.Errorf("%w: %v", ErrStore, err)
		case time.Now().After(deadline):
			return fmt.Errorf("%w: no answer within %v: %v", ErrUnavailable, s.cfg.Timeout, err)
		}
		s.cfg.Logger.Debug("store: retrying an object write", "object", name, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-s.done.Done():
		case <-t.C:
		}
		t.Stop()
		backoff = min(2*backoff, maxBackoff)
	}
}

// putOnce makes one attempt and returns how many bytes it read of the
// body. A streamed state is encoded into a pipe on a goroutine that
// putOnce owns and waits for; writeObject, which reads the pipe, fails
// when ctx ends (the encoder then fails too).
func (s *Store) putOnce(ctx context.Context, b *buckets, name string, body objectBody) (int64, error) {
	if body.data != nil {
		return s.writeObject(ctx, b, name, bytes.NewReader(body.data))
	}
	if err := s.leaderAnswers(ctx, b); err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Go(func() {
		bw := bufio.NewWriterSize(pw, 256<<10)
		err := persistence.EncodeState(ctx, bw, body.size, body.src)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err) // nil: the reader sees io.EOF
	})
	read, err := s.writeObject(ctx, b, name, pr)
	pr.CloseWithError(errPutEnded) // an encoder still writing stops
	wg.Wait()
	return read, err
}

// leaderAnswers asks the object store's stream for its state, which its
// leader answers.
func (s *Store) leaderAnswers(ctx context.Context, b *buckets) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	_, err := b.objStream.Info(ctx)
	return err
}

var errPutEnded = errors.New("natsstore: object write ended")

// dropObject removes what a failed write may have left, best effort,
// within attemptTimeout.
func (s *Store) dropObject(b *buckets, name string) {
	ctx, cancel := context.WithTimeout(s.done, attemptTimeout)
	defer cancel()
	if err := s.purgeObject(ctx, b, name); err != nil {
		s.cfg.Logger.Debug("store: could not remove a failed object write", "object", name, "err", err)
	}
}

// getObject reads an object whole; the error wraps
// persistence.ErrNoCheckpoint when it does not exist.
func (s *Store) getObject(ctx context.Context, b *buckets, name string) ([]byte, error) {
	where := s.where(s.CheckpointBucket(), "") + fmt.Sprintf(", object %q", name)
	var data []byte
	err := s.retry(ctx, where, "read", func(actx context.Context) error {
		info, err := b.obj.GetInfo(actx, name)
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return final{fmt.Errorf("%w: no object %s: %w", persistence.ErrNoCheckpoint, name, errNotExist)}
		}
		if err != nil {
			return err
		}
		// The attempt's deadline is for small requests; a large object
		// gets time in proportion to its size.
		rctx, cancel := context.WithTimeout(ctx, attemptTimeout+time.Duration(info.Size)*time.Second/minReadRate)
		defer cancel()
		res, err := b.obj.Get(rctx, name)
		if err != nil {
			return err
		}
		defer res.Close()
		var buf bytes.Buffer
		buf.Grow(int(info.Size))
		if _, err := io.Copy(&buf, res); err != nil {
			return err
		}
		data = buf.Bytes()
		return nil
	})
	return data, err
}

// deleteObject removes an object, retried; a missing one is no error.
func (s *Store) deleteObject(ctx context.Context, b *buckets, name string) error {
	where := s.where(s.CheckpointBucket(), "") + fmt.Sprintf(", object %q", name)
	return s.retry(ctx, where, "delete", func(ctx context.Context) error { return s.purgeObject(ctx, b, name) })
}

// purgeObject removes an object's chunks, then its description: should it
// stop between the two, the description left still names the object,
// which a later deletion finds.
func (s *Store) purgeObject(ctx context.Context, b *buckets, name string) error {
	info, err := b.obj.GetInfo(ctx, name, jetstream.GetObjectInfoShowDeleted())
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	bucket := s.CheckpointBucket()
	if info.NUID != "" {
		if err := b.objStream.Purge(ctx, jetstream.WithPurgeSubject(fmt.Sprintf("$O.%s.C.%s", bucket, info.NUID))); err != nil {
			return err
		}
	}
	return b.objStream.Purge(ctx, jetstream.WithPurgeSubject(objectMetaSubject(bucket, name)))
}

func objectMetaSubject(bucket, name string) string {
	return fmt.Sprintf("$O.%s.M.%s", bucket, base64.URLEncoding.EncodeToString([]byte(name)))
}

// objectNames lists the objects whose names start with prefix, from the
// subjects of the object store's stream (one request, paged by the
// server): whole, or an error.
func (s *Store) objectNames(ctx context.Context, b *buckets, prefix string) ([]string, error) {
	bucket := s.CheckpointBucket()
	metaPrefix := fmt.Sprintf("$O.%s.M.", bucket)
	var names []string
	err := s.retry(ctx, s.where(bucket, ""), "list objects "+prefix+"*", func(ctx context.Context) error {
		info, err := b.objStream.Info(ctx, jetstream.WithSubjectFilter(metaPrefix+">"))
		if err != nil {
			return err
		}
		names = names[:0]
		for subj, n := range info.State.Subjects {
			enc, _ := strings.CutPrefix(subj, metaPrefix)
			raw, err := base64.URLEncoding.DecodeString(enc)
			if n > 0 && err == nil && strings.HasPrefix(string(raw), prefix) {
				names = append(names, string(raw))
			}
		}
		return nil
	})
	return names, err
}
