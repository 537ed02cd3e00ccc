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
	// Unaligned makes checkpoints unaligned (Flink's unaligned
	// checkpoints, FLIP-76): a subtask forwards a checkpoint's barrier at
	// its first barrier, ahead of the batches queued on its outputs, and
	// stores the batches its barriers overtook — on its outputs, and on
	// its inputs until each input's barrier came — with the checkpoint;
	// a restore replays them before any new input. Under backpressure a
	// checkpoint then takes about as long as its barriers' way through
	// the job, not as long as the backlog. Savepoints stay aligned. An
	// unaligned checkpoint that holds in-flight data restores only at the
	// parallelism it was taken at (ErrUnalignedRescale). Exactly once
	// only: not with AtLeastOnce. Default false.
	Unaligned bool
	// AlignmentTimeout, with Unaligned, starts each checkpoint aligned
	// and turns it unaligned where its barriers are still waiting this
	// long after its trigger — at a receiver aligning its inputs, or
	// behind batches waiting for credit on an output — as Flink's
	// execution.checkpointing.aligned-checkpoint-timeout does. 0 (the
	// default): unaligned from the start.
	AlignmentTimeout time.Duration
	// Store opens the checkpoint store of one run of a job (see
	// Job.RunID). Each run must get a store of its own, sharing no
	// checkpoint ID or file with another run's — for example a
	// persistence.DirStore in <root>/<job>/<run> — and a run continued
	// with ContinueRun must get the same store again. A restart restores
	// only checkpoints whose metadata names its run, but two runs writing
	// into one store would overwrite each other's files. Default: in
	// memory, one persistence.MemStore per run for the engine's life,
	// keeping the newest 3 and every savepoint (a job then survives
	// subtask failures, and a later run can start from a savepoint or
	// checkpoint of an earlier one with RestoreFrom, but not after the
	// process ends; memory grows with the runs of the engine).
	Store func(job, run string) (CheckpointStore, error)

	// mem is the default Store's, to find a path RestoreFrom names in the
	// store of another run; nil with a Store of the user's.
	mem *memStores
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

// checkpointBeginner is a CheckpointStore that wants to know when a
// checkpoint starts (persistence.DirStore.Begin): in a cluster other
// nodes write its state, through instances of their own.
type checkpointBeginner interface {
	Begin(id int64)
}

// checkpointNumberer is a CheckpointStore that knows the highest
// checkpoint ID it has used, completed or not (persistence.DirStore.LastID):
// a run continued on it numbers its checkpoints above that, so that no
// late call of an earlier run meets a checkpoint of the same ID.
type checkpointNumberer interface {
	LastID() (int64, error)
}

var (
	_ checkpointBeginner = (*persistence.DirStore)(nil)
	_ checkpointBeginner = (*persistence.MemStore)(nil)
	_ checkpointNumberer = (*persistence.DirStore)(nil)
	_ checkpointNumberer = (*persistence.MemStore)(nil)
	_ checkpointNumberer = (*fingerprintStore)(nil)
)

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
	case c.AlignmentTimeout < 0:
		return fmt.Errorf("%w: Checkpoint.AlignmentTimeout %v is negative", ErrConfig, c.AlignmentTimeout)
	case c.AlignmentTimeout > 0 && !c.Unaligned:
		return fmt.Errorf("%w: Checkpoint.AlignmentTimeout %v needs Checkpoint.Unaligned", ErrConfig, c.AlignmentTimeout)
	case c.Unaligned && c.AtLeastOnce:
		return fmt.Errorf("%w: Checkpoint.Unaligned needs exactly-once checkpoints, not AtLeastOnce", ErrConfig)
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	if c.Store == nil {
		c.mem = &memStores{byRun: map[string]*persistence.MemStore{}}
		c.Store = c.mem.open
	}
	return nil
}

// memStores is the default checkpoint storage: one in-memory store per
// run for the engine's life, so that a later run (a job resubmitted from
// a savepoint) finds an earlier one's checkpoints by their path, which
// names the run. It is safe for concurrent use.
type memStores struct {
	mu    sync.Mutex
	byRun map[string]*persistence.MemStore
}

// open returns the run's store, the same one each time for a run.
func (s *memStores) open(_, run string) (CheckpointStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byRun[run] == nil {
		s.byRun[run] = persistence.NewMemStore(run, 3)
	}
	return s.byRun[run], nil
}

// find opens the checkpoint at path in whichever run's store holds it.
func (s *memStores) find(path string) (*persistence.Checkpoint, error) {
	run, ok := persistence.MemStoreName(path)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not an in-memory checkpoint", persistence.ErrNoCheckpoint, path)
	}
	s.mu.Lock()
	store := s.byRun[run]
	s.mu.Unlock()
	if store == nil {
		return nil, fmt.Errorf("%w: %s: no run %s in this engine", persistence.ErrNoCheckpoint, path, run)
	}
	return store.Open(path)
}
