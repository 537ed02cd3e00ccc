package natsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/persistence"
)

// CheckpointStore keeps the checkpoints of one run of a job in the
// store's checkpoint bucket, with persistence.DirStore's semantics: a
// subtask's state is an object (<job>/<run>/chk-<id>/<handle>), and a
// checkpoint is complete once its metadata, written last, is in the
// key-value bucket; it keeps the newest Config.Retain complete
// checkpoints and every savepoint; retention never removes a checkpoint
// in progress (noted by Begin or by a state written through this
// instance), and Discard removes what an aborted one wrote. Its paths are
// nats://<bucket>/<job>/<run>/chk-<id>.
//
// It implements the runtime's checkpoint store (actors.CheckpointStore
// and actors.StreamingCheckpointStore, with Begin). Several instances,
// in several processes, serve one run: each node's subtasks write their
// states through its own, while the job master's commits metadata,
// discards and applies retention, as with a DirStore on a shared mount.
// WriteState and WriteStateFrom may be called concurrently; Checkpoints
// and Open may run alongside a commit or a discard.
type CheckpointStore struct {
	s        *Store
	job, run string
	// floor is the lowest checkpoint ID this instance has written or
	// begun (MaxInt64 before any): an incomplete checkpoint below it was
	// left by an earlier process, one at or above it may be in progress.
	floor atomic.Int64

	mu    sync.Mutex
	known map[int64]known // complete checkpoints read so far
	swept bool            // the leftovers of earlier processes are gone
}

// known is what retention needs of a complete checkpoint: complete
// checkpoints never change, so it is read once.
type known struct {
	savepoint bool
	handles   []string
}

var _ interface{ Begin(int64) } = (*CheckpointStore)(nil)

func newCheckpointStore(s *Store, job, run string) *CheckpointStore {
	c := &CheckpointStore{s: s, job: job, run: run, known: map[int64]known{}}
	c.floor.Store(math.MaxInt64)
	return c
}

func (c *CheckpointStore) ref(id int64) checkpointRef {
	return checkpointRef{bucket: c.s.CheckpointBucket(), job: c.job, run: c.run, id: id}
}

// wrote notes that checkpoint id is written by this instance (or begun),
// before any of its objects exists, so that retention leaves it alone.
func (c *CheckpointStore) wrote(id int64) {
	for {
		f := c.floor.Load()
		if id >= f || c.floor.CompareAndSwap(f, id) {
			return
		}
	}
}

// Begin notes that checkpoint id is in progress, its states perhaps being
// written by other processes: retention leaves it alone until it
// completes or is discarded. The job master calls it before it triggers
// the checkpoint.
func (c *CheckpointStore) Begin(id int64) { c.wrote(id) }

// WriteState stores one subtask's state for checkpoint id and returns its
// handle. It is retried whole through a leader change.
func (c *CheckpointStore) WriteState(id int64, task string, data []byte) (string, error) {
	return c.writeState(context.Background(), id, task, persistence.BytesSource(data), true)
}

// WriteStateFrom stores one subtask's state for checkpoint id and returns
// its handle. A state of up to maxBuffered bytes is encoded into memory
// first, so that its write can be retried whole through a leader change;
// a larger one is streamed from src into the object store without
// being held whole, once the bucket's leader has answered — src can be
// encoded only once, so a failure of the servers in the middle fails the
// write (and the checkpoint; the next one is tried). If ctx ends or src
// fails, no object is left.
func (c *CheckpointStore) WriteStateFrom(ctx context.Context, id int64, task string, src persistence.StateSource) (string, error) {
	return c.writeState(ctx, id, task, src, false)
}

// maxBuffered is the largest encoded state WriteStateFrom holds in memory
// to be able to send it again.
const maxBuffered = 8 << 20

func (c *CheckpointStore) writeState(ctx context.Context, id int64, task string, src persistence.StateSource, buffer bool) (string, error) {
	c.wrote(id)
	handle := handleFor(task)
	name := c.ref(id).objectName(handle)
	where := c.s.where(c.s.CheckpointBucket(), "") + fmt.Sprintf(", object %q", name)
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("%s: checkpoint %d, state of %s: %w", where, id, task, err)
	}
	if ctx.Err() != nil {
		return fail(context.Cause(ctx))
	}
	size, err := src.Size(ctx)
	if err != nil {
		return fail(err)
	}
	body := objectBody{size: size, src: src}
	if buffer || persistence.SealedStateLen(size) <= maxBuffered {
		var buf bytes.Buffer
		buf.Grow(int(persistence.SealedStateLen(size)))
		if err := persistence.EncodeState(ctx, &buf, size, src); err != nil {
			return fail(err)
		}
		body = objectBody{data: buf.Bytes()}
	}
	b, err := c.s.buckets(ctx)
	if err != nil {
		return "", err
	}
	if err := c.s.putObject(ctx, b, name, body); err != nil {
		return fail(err)
	}
	return handle, nil
}

// CommitMetadata completes checkpoint m.ID by storing its metadata, then
// applies retention, best effort (what it cannot remove now goes at a
// later commit; it never fails the commit). It returns the checkpoint's
// path.
func (c *CheckpointStore) CommitMetadata(m *persistence.Metadata) (string, error) {
	data, err := m.MarshalBinary()
	if err != nil {
		return "", err
	}
	c.wrote(m.ID)
	ref := c.ref(m.ID)
	ctx := context.Background()
	b, err := c.s.buckets(ctx)
	if err != nil {
		return "", err
	}
	err = c.s.retry(ctx, c.s.where(c.s.CheckpointBucket(), ref.metaKey()), fmt.Sprintf("commit checkpoint %d", m.ID),
		func(ctx context.Context) error {
			_, err := b.meta.Put(ctx, ref.metaKey(), data)
			if errors.Is(err, nats.ErrMaxPayload) {
				return final{fmt.Errorf("%w: metadata of %d bytes exceeds the servers' max_payload (%d): %v",
					ErrStore, len(data), c.s.nc.MaxPayload(), err)}
			}
			return err
		})
	if err != nil {
		return "", err
	}
	c.remember(m.ID, m)
	if err := c.prune(ctx, b); err != nil {
		c.s.cfg.Logger.Warn("store: checkpoint retention failed; it is tried again at the next commit",
			"job", c.job, "run", c.run, "err", err)
	}
	return ref.path(), nil
}

func (c *CheckpointStore) remember(id int64, m *persistence.Metadata) {
	k := known{savepoint: m.Savepoint}
	for _, t := range m.Tasks {
		if t.Handle != "" {
			k.handles = append(k.handles, t.Handle)
		}
	}
	c.mu.Lock()
	c.known[id] = k
	c.mu.Unlock()
}

// Discard removes what an aborted checkpoint wrote. A checkpoint whose
// metadata is stored is complete, whatever the caller believes (an abort
// that raced the commit), and stays.
func (c *CheckpointStore) Discard(id int64) error {
	ctx := context.Background()
	b, err := c.s.buckets(ctx)
	if err != nil {
		return err
	}
	ref := c.ref(id)
	if _, err := c.s.metadata(ctx, b, ref); err == nil {
		return nil
	} else if !errors.Is(err, persistence.ErrNoCheckpoint) {
		return fmt.Errorf("natsstore: discard checkpoint %d: %w", id, err)
	}
	names, err := c.s.objectNames(ctx, b, ref.objectPrefix())
	if err != nil {
		return fmt.Errorf("natsstore: discard checkpoint %d: %w", id, err)
	}
	for _, name := range names {
		if err := c.s.deleteObject(ctx, b, name); err != nil {
			return fmt.Errorf("natsstore: discard checkpoint %d: %w", id, err)
		}
	}
	return nil
}

// Checkpoints returns the paths of the run's complete checkpoints,
// newest first. The list is whole or the call fails.
func (c *CheckpointStore) Checkpoints() ([]string, error) {
	ctx := context.Background()
	b, err := c.s.buckets(ctx)
	if err != nil {
		return nil, err
	}
	ids, err := c.completeIDs(ctx, b)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(ids))
	for i, id := range ids {
		paths[i] = c.ref(id).path()
	}
	return paths, nil
}

// Open reads a complete checkpoint's metadata: one of this run's or any
// other run's of the same bucket (a savepoint to restore from).
func (c *CheckpointStore) Open(path string) (*persistence.Checkpoint, error) {
	ref, ok := parsePath(path)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %q is not a checkpoint path of a nats:// store (nats://BUCKET/JOB/RUN/chk-ID): %w",
			persistence.ErrNoCheckpoint, path, errNotExist)
	case ref.bucket != c.s.CheckpointBucket():
		return nil, fmt.Errorf("%w: %s is in bucket %s, not in this store's %s: %w",
			persistence.ErrNoCheckpoint, path, ref.bucket, c.s.CheckpointBucket(), errNotExist)
	}
	return c.s.open(ref)
}

// completeIDs lists the IDs of the run's complete checkpoints, newest
// first.
func (c *CheckpointStore) completeIDs(ctx context.Context, b *buckets) ([]int64, error) {
	prefix := runKeyPrefix(c.job, c.run)
	var keys []string
	err := c.s.retry(ctx, c.s.where(c.s.CheckpointBucket(), prefix+"*"), "list checkpoints", func(ctx context.Context) error {
		var err error
		keys, err = streamKeys(ctx, b.metaStream, c.s.CheckpointBucket(), prefix)
		return err
	})
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, k := range keys {
		if id, err := strconv.ParseInt(strings.TrimPrefix(k, prefix), 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	return ids, nil
}

// open returns the complete checkpoint ref names; its states are read
// from the object store when asked for.
func (s *Store) open(ref checkpointRef) (*persistence.Checkpoint, error) {
	ctx := context.Background()
	b, err := s.buckets(ctx)
	if err != nil {
		return nil, err
	}
	data, err := s.metadata(ctx, b, ref)
	if err != nil {
		return nil, err
	}
	path := ref.path()
	return persistence.NewCheckpoint(path, data, func(handle string) ([]byte, error) {
		if !validHandle(handle) {
			return nil, fmt.Errorf("%w: %s: bad state handle %q", persistence.ErrCorrupt, path, handle)
		}
		return s.getObject(context.Background(), b, ref.objectName(handle))
	})
}

// metadata returns the stored metadata of a checkpoint; the error wraps
// persistence.ErrNoCheckpoint (and os.ErrNotExist) when it has none.
func (s *Store) metadata(ctx context.Context, b *buckets, ref checkpointRef) ([]byte, error) {
	var data []byte
	err := s.retry(ctx, s.where(s.CheckpointBucket(), ref.metaKey()), "read the metadata of "+ref.path(), func(ctx context.Context) error {
		e, err := b.meta.Get(ctx, ref.metaKey())
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return final{fmt.Errorf("%w: %s: %w", persistence.ErrNoCheckpoint, ref.path(), errNotExist)}
		}
		if err != nil {
			return err
		}
		data = e.Value()
		return nil
	})
	return data, err
}
