package cluster

import (
	"context"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/persistence"
)

// Store is what a cluster keeps durably, shared by every node and
// surviving any one of them: the job records (JobStore) and the
// checkpoints and savepoints of every run. `--store file://DIR` (a
// directory every node reaches) and `--store nats://…` (NATS JetStream:
// a key-value bucket and an object store) are two.
type Store interface {
	// Jobs is the job store.
	Jobs() JobStore
	// Checkpoints opens the checkpoint store of one run of a job; every
	// node opens the same run's store to write its subtasks' states, the
	// job master's node to commit metadata.
	Checkpoints(job, run string) (actors.CheckpointStore, error)
	// OpenCheckpoint opens a complete checkpoint or savepoint by the path
	// a checkpoint store returned (any run's), for --restore; the error
	// wraps os.ErrNotExist (errors.Is) when there is none at path.
	OpenCheckpoint(path string) (*persistence.Checkpoint, error)
	// Close releases the store's connections; it is idempotent.
	Close() error
}

// JobStore keeps values by key with a revision per key, for
// compare-and-set: the job records, one per job, which say who owns a
// job (owner node and epoch) and whether it has ended. Keys are job ids
// (letters, digits, '-', '_'). Revisions start at 1 and grow with every
// write of a key; 0 is never a revision. A key deleted and created again
// may reuse revisions (the file store's do): keys are never reused
// (job ids are unique). Implementations are safe for concurrent use, by
// several processes at once for one store.
type JobStore interface {
	// Get returns a key's value and revision; the error wraps
	// persistence.ErrRecordNotFound when the key has none.
	Get(ctx context.Context, key string) (value []byte, rev uint64, err error)
	// Create writes a key that has no value and returns its revision; the
	// error wraps persistence.ErrRecordExists when it has one.
	Create(ctx context.Context, key string, value []byte) (rev uint64, err error)
	// Update writes a key whose revision is still rev (compare-and-set)
	// and returns the new revision; the error wraps persistence.ErrStaleRevision when the key
	// was written since (or deleted).
	Update(ctx context.Context, key string, value []byte, rev uint64) (newRev uint64, err error)
	// Delete removes a key whose revision is still rev
	// (compare-and-delete), leaving nothing of it; the error wraps
	// persistence.ErrStaleRevision when the key was written since, and
	// persistence.ErrRecordNotFound when it has no value.
	Delete(ctx context.Context, key string, rev uint64) error
	// Keys lists the keys that have a value, in no particular order.
	Keys(ctx context.Context) ([]string, error)
}
