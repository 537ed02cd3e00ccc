package actors

import (
	"fmt"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/persistence"
)

// CheckpointConfig turns on exactly-once checkpoints: barriers flow from
// the sources with the records, every subtask snapshots its operators'
// state when the barrier has passed it, and after a failure the job
// restarts from the latest complete checkpoint.
type CheckpointConfig struct {
	// Interval between periodic checkpoints; 0 (the default) turns
	// checkpointing off.
	Interval time.Duration
	// Timeout aborts a checkpoint not complete after this long. Default
	// 10 minutes.
	Timeout time.Duration
	// MinPause is the least time between the end of one checkpoint and the
	// start of the next. Default 0.
	MinPause time.Duration
	// TolerableFailures is how many checkpoints in a row may fail before
	// the job fails over. Default 0.
	TolerableFailures int
	// AtLeastOnce skips barrier alignment: lower latency under
	// backpressure, but records may be replayed twice after a failure.
	AtLeastOnce bool
	// Store opens the checkpoint store of a job. Default: in memory, one
	// store per job name for the engine's life, keeping the newest 3 and
	// every savepoint (a job then survives subtask failures and can be
	// resumed from a savepoint, but not after the process ends).
	Store func(job string) (CheckpointStore, error)
}

// CheckpointStore keeps a job's checkpoints (persistence.DirStore and
// persistence.MemStore are two). WriteState is called from several
// goroutines at once; CommitMetadata and Discard one at a time, in order,
// by the job's metadata writer; Checkpoints and Open by the job master,
// possibly while a commit or a discard runs.
type CheckpointStore interface {
	// WriteState stores a subtask's encoded state for a checkpoint and
	// returns the handle that the metadata will list.
	WriteState(id int64, task string, data []byte) (handle string, err error)
	// CommitMetadata completes a checkpoint: once it returns without
	// error, the checkpoint is durable and may be restored.
	CommitMetadata(m *persistence.Metadata) (path string, err error)
	// Discard drops what an aborted checkpoint wrote. It must leave a
	// checkpoint whose metadata is stored: that one is complete.
	Discard(id int64) error
	// Checkpoints lists the complete checkpoints, newest first.
	Checkpoints() ([]string, error)
	// Open reads a complete checkpoint's metadata.
	Open(path string) (*persistence.Checkpoint, error)
}

func (c *CheckpointConfig) enabled() bool { return c.Interval > 0 }

func (c *CheckpointConfig) validate() error {
	switch {
	case c.Interval < 0:
		return fmt.Errorf("%w: Checkpoint.Interval %v is negative", ErrConfig, c.Interval)
	case c.Timeout < 0:
		return fmt.Errorf("%w: Checkpoint.Timeout %v is negative", ErrConfig, c.Timeout)
	case c.MinPause < 0:
		return fmt.Errorf("%w: Checkpoint.MinPause %v is negative", ErrConfig, c.MinPause)
	case c.TolerableFailures < 0:
		return fmt.Errorf("%w: Checkpoint.TolerableFailures %d is negative", ErrConfig, c.TolerableFailures)
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if c.Store == nil {
		c.Store = memStores()
	}
	return nil
}

// memStores gives each job name one in-memory store for the engine's
// life, so that a job resubmitted from a savepoint finds it.
func memStores() func(string) (CheckpointStore, error) {
	var mu sync.Mutex
	stores := map[string]*persistence.MemStore{}
	return func(job string) (CheckpointStore, error) {
		mu.Lock()
		defer mu.Unlock()
		if stores[job] == nil {
			stores[job] = persistence.NewMemStore(3)
		}
		return stores[job], nil
	}
}
