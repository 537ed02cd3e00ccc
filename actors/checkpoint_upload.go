package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/persistence"
)

// StreamingCheckpointStore is a CheckpointStore that can take a subtask's
// state as a stream (persistence.DirStore and persistence.MemStore do):
// the state is then encoded as it is written, never whole in memory,
// which matters for state larger than memory (the bbolt backend). A store
// without it gets the state whole through WriteState.
type StreamingCheckpointStore interface {
	CheckpointStore
	// WriteStateFrom stores a subtask's state for a checkpoint, read from
	// src (Size, then Encode once), and returns its handle. It must stop
	// soon after ctx ends, leaving nothing behind. Called from several
	// goroutines at once.
	WriteStateFrom(ctx context.Context, id int64, task string, src persistence.StateSource) (handle string, err error)
}

var (
	_ StreamingCheckpointStore = (*persistence.DirStore)(nil)
	_ StreamingCheckpointStore = (*persistence.MemStore)(nil)
)

// stateSource is the state a subtask writes: an operators.EncodedState.
type stateSource interface {
	persistence.StateSource
	Bytes(ctx context.Context) ([]byte, error)
	Close() error
}

// writeState writes src to store for checkpoint id and closes it, in
// every case: that ends the read transactions of its bbolt snapshots.
// A store that takes only bytes gets them whole, and src is closed
// before that write, which cannot be cancelled. It returns the state's
// handle and its size in bytes.
func writeState(ctx context.Context, store CheckpointStore, id int64, task string, src stateSource) (string, int64, error) {
	defer src.Close() // a read transaction: nothing to lose
	if s, ok := store.(StreamingCheckpointStore); ok {
		handle, err := s.WriteStateFrom(ctx, id, task, src)
		if err != nil {
			return "", 0, err
		}
		size, _ := src.Size(ctx) // measured by the write already; only for stats, never a failure
		return handle, size, nil
	}
	data, err := src.Bytes(ctx)
	_ = src.Close()
	if err != nil {
		return "", 0, err
	}
	handle, err := store.WriteState(id, task, data)
	return handle, int64(len(data)), err
}

// writeChannels writes a subtask's in-flight data for checkpoint id, as
// a state of its own beside the operators' (task's name with
// "-channels"), and returns its handle and its size in bytes.
func writeChannels(ctx context.Context, store CheckpointStore, id int64, task string, cs *persistence.ChannelState) (string, int64, error) {
	b := cs.MarshalBinary()
	name := task + "-channels"
	var handle string
	var err error
	if s, ok := store.(StreamingCheckpointStore); ok {
		handle, err = s.WriteStateFrom(ctx, id, name, persistence.BytesSource(b))
	} else {
		handle, err = store.WriteState(id, name, b)
	}
	if err != nil {
		return "", 0, fmt.Errorf("checkpoint %d: in-flight data: %w", id, err)
	}
	return handle, int64(len(b)), nil
}

// uploads owns the goroutines that write a subtask's state to the
// checkpoint store, one per checkpoint, so that the subtask goes on
// processing meanwhile. Each ends when its write does, when its
// checkpoint times out (Checkpoint.Timeout: the master has aborted it by
// then), when a newer checkpoint completes (it subsumed this one,
// savepoints excepted), or when the subtask stops, which waits for them
// (stop). Its methods are called from the subtask's goroutine; the zero
// value is ready.
type uploads struct {
	mu      sync.Mutex
	running map[int64]upload
	stopped bool
	wg      sync.WaitGroup
}

type upload struct {
	cancel    context.CancelCauseFunc
	savepoint bool
}

// start runs write for checkpoint id on a goroutine of its own, with a
// context that ends as said above. It returns false, running nothing,
// once the uploads have stopped.
func (u *uploads) start(id int64, savepoint bool, timeout time.Duration, write func(ctx context.Context)) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stopped {
		return false
	}
	if u.running == nil {
		u.running = make(map[int64]upload)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	wctx, stopTimer := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		wctx, stopTimer = context.WithTimeoutCause(ctx, timeout, fmt.Errorf(
			"checkpoint %d: state not written within Checkpoint.Timeout %v: %w", id, timeout, context.DeadlineExceeded))
	}
	u.running[id] = upload{cancel: cancel, savepoint: savepoint}
	u.wg.Go(func() {
		defer u.done(id)
		defer stopTimer()
		write(wctx)
	})
	return true
}

func (u *uploads) done(id int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if up, ok := u.running[id]; ok {
		up.cancel(nil) // releases the context
		delete(u.running, id)
	}
}

// subsume ends the writes of the checkpoints older than id, which
// completed: the master aborted them. Savepoints may complete after a
// newer checkpoint, so theirs go on.
func (u *uploads) subsume(id int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for old, up := range u.running {
		if old < id && !up.savepoint {
			up.cancel(fmt.Errorf("%w by checkpoint %d", barrier.ErrSubsumed, id))
		}
	}
}

// stop ends every write and waits for their goroutines; later starts run
// nothing. It is safe to call more than once.
func (u *uploads) stop() {
	u.mu.Lock()
	u.stopped = true
	for _, up := range u.running {
		up.cancel(errSubtaskStopped)
	}
	u.mu.Unlock()
	u.wg.Wait()
}

// stoppedBy reports whether ctx ended because the subtask stopped: nobody
// waits for the ack then.
func stoppedBy(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errSubtaskStopped) }
