package natsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/persistence"
)

// JobStore keeps the job records in the key-value bucket <Prefix>-jobs:
// a record's revision is its key-value revision (the stream sequence of
// its latest write, so revisions grow with every write and are unique in
// the bucket), Update is the bucket's compare-and-set. Keys are checked
// with persistence.CheckRecordKey. It is safe for concurrent use, by
// several processes at once.
//
// A write whose answer is lost (a timeout while the bucket's leader
// changes) is retried; if the retry finds the key already written with
// the very value it writes (its own first attempt went through), it
// succeeds with that revision, so a lost answer does not turn a
// successful compare-and-set into ErrStaleRevision or ErrRecordExists.
//
// Reads are linearizable: Get is answered by the leader of the bucket's
// stream (readFromLeader), so it returns the latest acknowledged write,
// and a refused compare-and-set is reported stale only when the leader
// shows the key written since (refused).
type JobStore struct {
	s *Store
}

// Get returns a key's value and revision; the error wraps
// persistence.ErrRecordNotFound when the key has none.
func (j *JobStore) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	var value []byte
	var rev uint64
	err := j.do(ctx, key, "get", func(ctx context.Context, kv jetstream.KeyValue, _ bool) error {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return final{persistence.ErrRecordNotFound}
		}
		if err != nil {
			return err
		}
		value, rev = bytes.Clone(e.Value()), e.Revision()
		return nil
	})
	return value, rev, err
}

// Create writes a key that has no value and returns its revision; the
// error wraps persistence.ErrRecordExists when it has one.
func (j *JobStore) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	var rev uint64
	err := j.do(ctx, key, "create", func(ctx context.Context, kv jetstream.KeyValue, again bool) error {
		r, err := kv.Create(ctx, key, value)
		if errors.Is(err, jetstream.ErrKeyExists) {
			r, err = refused(ctx, kv, key, value, 0, again, persistence.ErrRecordExists)
		}
		rev = r
		return err
	})
	return rev, err
}

// Update writes a key whose revision is still rev and returns the new
// revision; the error wraps persistence.ErrStaleRevision when the key
// was written since (or has no value).
func (j *JobStore) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	var next uint64
	err := j.do(ctx, key, fmt.Sprintf("update revision %d", rev), func(ctx context.Context, kv jetstream.KeyValue, again bool) error {
		r, err := kv.Update(ctx, key, value, rev)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			r, err = refused(ctx, kv, key, value, rev, again, persistence.ErrStaleRevision)
		}
		next = r
		return err
	})
	return next, err
}

// refused decides what a refused compare-and-set of key at revision rev
// (0: no value) means, from the key's latest revision, which the
// stream's leader answers (readFromLeader):
//   - still rev: the leader refused it while the previous write of the
//     key was in process there (see errWriteInProcess): retried;
//   - above rev with value, on a retry: this write's earlier attempt,
//     whose answer was lost, went through: its revision;
//   - anything else: the key was written since — stale (final).
func refused(ctx context.Context, kv jetstream.KeyValue, key string, value []byte, rev uint64, again bool, stale error) (uint64, error) {
	e, err := kv.Get(ctx, key)
	var latest uint64
	switch {
	case err == nil:
		latest = e.Revision()
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return 0, err // retried if transient
	}
	switch {
	case latest == rev:
		return 0, errWriteInProcess
	case again && latest > rev && bytes.Equal(e.Value(), value):
		return latest, nil
	}
	return 0, final{stale}
}

// Delete removes a key whose revision is still rev: a purge of the key
// at that revision (compare-and-delete), then a purge of its subject,
// which drops the purge's marker, so that nothing of the key stays in
// the bucket nor in Keys. The error wraps persistence.ErrStaleRevision
// when the key was written since, and persistence.ErrRecordNotFound when
// it has no value. A retry that finds the key already purged (its own
// first attempt went through) finishes the work.
func (j *JobStore) Delete(ctx context.Context, key string, rev uint64) error {
	subj := "$KV." + j.s.JobsBucket() + "." + key
	return j.do(ctx, key, fmt.Sprintf("delete revision %d", rev), func(ctx context.Context, kv jetstream.KeyValue, again bool) error {
		b, err := j.s.buckets(ctx)
		if err != nil {
			return final{err}
		}
		var missing error
		err = kv.Purge(ctx, key, jetstream.LastRevision(rev))
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			missing, err = deleteRefused(ctx, kv, key, rev, again)
		}
		if err != nil {
			return err
		}
		// Drop the purge's marker (or one an interrupted delete left).
		if err := b.jobsStream.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return err
		}
		if missing != nil {
			return final{missing}
		}
		return nil
	})
}

// deleteRefused decides what a refused purge of key at rev means, from
// what the stream's leader holds: no value, on a retry — this delete's
// earlier attempt went through; no value on the first attempt — not
// found (missing); still rev — a write in process (retried); anything
// else — written since (final).
func deleteRefused(ctx context.Context, kv jetstream.KeyValue, key string, rev uint64, again bool) (missing, err error) {
	e, err := kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound) && again:
		return nil, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return persistence.ErrRecordNotFound, nil
	case err != nil:
		return nil, err // retried if transient
	case e.Revision() == rev:
		return nil, errWriteInProcess
	}
	return nil, final{persistence.ErrStaleRevision}
}

// Keys lists the keys that have a value, sorted. It reads the subjects
// of the bucket's stream in one request (paged by the server), so the
// list is whole or the call fails — never cut short.
func (j *JobStore) Keys(ctx context.Context) ([]string, error) {
	var keys []string
	err := j.s.retry(ctx, j.s.where(j.s.JobsBucket(), ""), "list keys", func(ctx context.Context) error {
		b, err := j.s.buckets(ctx)
		if err != nil {
			return final{err}
		}
		keys, err = streamKeys(ctx, b.jobsStream, j.s.JobsBucket(), "")
		return err
	})
	return keys, err
}

// do runs a job store operation on key with retries; again tells op
// that an earlier attempt of it may have gone through.
func (j *JobStore) do(ctx context.Context, key, what string, op func(ctx context.Context, kv jetstream.KeyValue, again bool) error) error {
	where := j.s.where(j.s.JobsBucket(), key)
	if err := persistence.CheckRecordKey(key); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	b, err := j.s.buckets(ctx)
	if err != nil {
		return err
	}
	attempts := 0
	return j.s.retry(ctx, where, what, func(ctx context.Context) error {
		attempts++
		return op(ctx, b.jobs, attempts > 1)
	})
}

// streamKeys returns the keys of a key-value bucket that start with
// keyPrefix ("" or tokens ending in '.'), sorted. It reads the subjects
// of the bucket's stream in one request (paged by the server), so the
// list is whole or the call fails — never cut short, as a watcher's
// list may be when its context ends.
func streamKeys(ctx context.Context, st jetstream.Stream, bucket, keyPrefix string) ([]string, error) {
	subjPrefix := "$KV." + bucket + "."
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subjPrefix+keyPrefix+">"))
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		if key, ok := strings.CutPrefix(subj, subjPrefix); ok && n > 0 {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys, nil
}
