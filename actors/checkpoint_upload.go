package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// releasing is a state that tells its upload when it is closed: from
// then on the write no longer reads the subtask's snapshots, and the
// subtask's stop need not wait for it.
type releasing struct {
	stateSource
	release func()
}

func (r releasing) Close() error {
	defer r.release()
	return r.stateSource.Close()
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

// uploads starts the goroutines that write a subtask's state to the
// checkpoint store, one per checkpoint, so that the subtask goes on
// processing meanwhile. Each ends when its write does, when its
// checkpoint times out (Checkpoint.Timeout: the master has aborted it by
// then), when a newer checkpoint completes (it subsumed this one,
// savepoints excepted), or when the subtask stops (stop).
//
// The engine owns the goroutines (owner, its writers): Engine.Close
// waits for them, within writerGrace, and logs the checkpoint and task
// of each it gives up on. The subtask's stop waits only until no write
// reads its state any more — the snapshots' bbolt read transactions,
// which its operators' close would wait for — and for writeGrace at
// most: a store call that hangs, and cannot be cancelled (a store
// without streaming takes the state whole, after its source is closed),
// never holds up a cancel, as Flink's checkpoint I/O never holds up a
// task's cancellation. What such a write stores late is the store's to
// refuse (persistence.ErrDiscarded) or the master's to discard
// (checkpointer.discardLate).
//
// Its methods are called from the subtask's goroutine; the zero value is
// ready, its goroutines then unowned (tests wait for them on wg).
type uploads struct {
	mu      sync.Mutex
	running map[int64]*upload
	stopped bool
	// reading counts the writes whose state is still open
	reading sync.WaitGroup
	// wg counts every write's goroutine
	wg sync.WaitGroup
	// owner, the engine's writers, runs the goroutines; nil in tests
	owner *storeWork
	log   *slog.Logger // nil: slog.Default()
	task  string       // the subtask's name in the logs
}

type upload struct {
	cancel    context.CancelCauseFunc
	savepoint bool
	reading   bool // its state is still open
}

// writeGrace bounds how long a stopping subtask waits for its state
// writes to let go of its state: a streaming store must stop reading
// soon after its write is cancelled.
const writeGrace = 5 * time.Second

// start runs write for checkpoint id on a goroutine of its own, with a
// context that ends as said above; write calls release once it has
// closed the state it reads (later calls do nothing; its return
// releases it too). start returns false, running nothing, once the
// uploads have stopped.
func (u *uploads) start(id int64, savepoint bool, timeout time.Duration, write func(ctx context.Context, release func())) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stopped {
		return false
	}
	if u.running == nil {
		u.running = make(map[int64]*upload)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	wctx, stopTimer := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		wctx, stopTimer = context.WithTimeoutCause(ctx, timeout, fmt.Errorf(
			"checkpoint %d: state not written within Checkpoint.Timeout %v: %w", id, timeout, context.DeadlineExceeded))
	}
	u.running[id] = &upload{cancel: cancel, savepoint: savepoint, reading: true}
	u.reading.Add(1)
	release := sync.OnceFunc(func() { u.released(id) })
	u.wg.Add(1)
	run := func() {
		defer u.wg.Done()
		defer u.done(id)
		defer release()
		defer stopTimer()
		write(wctx, release)
	}
	if u.owner == nil {
		go run()
		return true
	}
	u.owner.Go(run, "call", "checkpoint state write", "checkpoint", id, "task", u.task)
	return true
}

func (u *uploads) released(id int64) {
	u.mu.Lock()
	if up, ok := u.running[id]; ok {
		up.reading = false
	}
	u.mu.Unlock()
	u.reading.Done()
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

// abort ends the write of checkpoint id, which the master aborted: what
// it stores late is discarded (discardUnacked, checkpointer.discardLate).
func (u *uploads) abort(id int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if up, ok := u.running[id]; ok {
		up.cancel(fmt.Errorf("checkpoint %d: %w", id, errCheckpointAborted))
	}
}

// stop ends every write and waits, writeGrace at most, until none reads
// the subtask's state any more; it does not wait for the store calls
// (see uploads). Later starts run nothing. It is safe to call more than
// once.
func (u *uploads) stop() {
	u.mu.Lock()
	u.stopped = true
	for _, up := range u.running {
		up.cancel(errSubtaskStopped)
	}
	u.mu.Unlock()
	if waitGroup(&u.reading, writeGrace) {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	log := u.log
	if log == nil {
		log = slog.Default()
	}
	for id, up := range u.running {
		if up.reading {
			log.Error("a checkpoint store still reads the state of a stopped subtask; closing its operators anyway",
				"checkpoint", id, "task", u.task, "waited", writeGrace)
		}
	}
}

// stateDiscarder is a CheckpointStore that can remove one subtask's
// state of a checkpoint (persistence.DirStore and MemStore can).
type stateDiscarder interface {
	DiscardState(id int64, handle string) error
}

var (
	_ stateDiscarder = (*persistence.DirStore)(nil)
	_ stateDiscarder = (*persistence.MemStore)(nil)
)

// discardUnacked removes the states a write stored after its subtask
// stopped: no ack will name them, so neither the checkpoint's discard
// (which may have run before them) nor a late ack's will, and the
// checkpoint cannot complete without that ack. As Flink's task discards
// the state its cancelled asynchronous checkpoint part wrote. It runs on
// the write's goroutine, which the engine owns.
func discardUnacked(store CheckpointStore, log *slog.Logger, id int64, handles ...string) {
	d, ok := store.(stateDiscarder)
	if !ok {
		return // the master's discard of the aborted checkpoint is all there is
	}
	for _, h := range handles {
		if h == "" {
			continue
		}
		if err := d.DiscardState(id, h); err != nil && log != nil {
			log.Warn("discarding the state of a stopped subtask", "checkpoint", id, "handle", h, "err", err)
		}
	}
}

// stoppedBy reports whether ctx ended because the subtask stopped: nobody
// waits for the ack then.
func stoppedBy(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errSubtaskStopped) }
