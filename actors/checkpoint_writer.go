package actors

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/persistence"
)

// metadataWriter makes checkpoint metadata durable and discards what
// aborted checkpoints wrote, one store call at a time, in the order asked,
// on a goroutine of its own: the master never blocks on the store, the
// store never sees two commits at once (its contract), and a discard
// never runs alongside a commit.
//
// The checkpointer owns it: commit, discard, results, busy and close are
// called from the job master's Receive only, and never call the store
// there. close never waits for the store: the goroutine finishes the
// calls queued and returns, and the engine, which counts it in its
// writers (storeWork), waits for it on Engine.Close, for a bounded time
// (a store that hangs must not hang a cancel or the engine's close, as
// Flink's checkpoint I/O executor never holds up a job's cancellation).
type metadataWriter struct {
	store  CheckpointStore
	log    *slog.Logger
	notify func()       // tells the master that results wait; any goroutine
	guard  func() error // GuardCommits's; nil: commit always
	owner  *storeWork   // the engine's writers: runs the goroutine
	attrs  []any        // names the writer's job in the engine's log

	mu      sync.Mutex
	queue   []storeCall
	out     []metadataWritten // commits done, not yet taken by the master
	closing bool
	exited  bool // the goroutine has returned; the next call starts it again
	// later: callers of savepoints whose commit the master left under
	// way when the job ended; the commit's outcome goes to them
	later map[int64]chan<- savepointResult

	wake chan struct{} // capacity 1: the queue changed
	// master's goroutine only
	shut     bool // close was called
	inFlight int  // commits asked for whose result the master has not taken
}

// storeCall is a commit (meta) or a discard (of checkpoint discard).
type storeCall struct {
	meta    *persistence.Metadata
	discard int64
}

// newMetadataWriter starts the writer's goroutine, counted in owner (the
// engine's writers) until it returns. guard, if set, is asked before
// each commit (GuardCommits). attrs name the job for the engine's log.
func newMetadataWriter(store CheckpointStore, guard func() error, log *slog.Logger, notify func(), owner *storeWork, attrs ...any) *metadataWriter {
	w := &metadataWriter{store: store, guard: guard, log: log, notify: notify, owner: owner,
		attrs: append([]any{"call", "checkpoint metadata writer"}, attrs...), wake: make(chan struct{}, 1)}
	owner.Go(w.run, w.attrs...)
	return w
}

// commit queues the commit of m; its result comes back through results,
// after a notify.
func (w *metadataWriter) commit(m *persistence.Metadata) {
	w.inFlight++
	w.push(storeCall{meta: m})
}

// discard queues the discard of checkpoint id: a late ack's too, after
// close (see push).
func (w *metadataWriter) discard(id int64) {
	w.push(storeCall{discard: id})
}

// push queues c. Once the goroutine has returned (after close), it
// starts it again, in the engine's writers, to run c and return: the
// store is never called on the master's goroutine, where a hung store
// would block the master, and the calls stay one at a time.
func (w *metadataWriter) push(c storeCall) {
	w.mu.Lock()
	w.queue = append(w.queue, c)
	restart := w.exited
	w.exited = false
	w.mu.Unlock()
	if restart {
		w.owner.Go(w.run, w.attrs...)
		return
	}
	w.poke()
}

func (w *metadataWriter) poke() {
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// results returns the commits done since the last call, in order.
func (w *metadataWriter) results() []metadataWritten {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.out
	w.out = nil
	w.inFlight -= len(out)
	return out
}

// busy reports whether a commit asked for has not had its result taken:
// its checkpoint may still complete.
func (w *metadataWriter) busy() bool { return w.inFlight > 0 }

// close lets the goroutine finish the calls queued and return, without
// waiting for it: a commit under way is left to the store (and to its own
// timeout, if it hangs). The results already done stay for results. Safe
// to call twice.
func (w *metadataWriter) close() {
	if w.shut {
		return
	}
	w.shut = true
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.poke()
}

// answerLater gives the outcome of savepoint id's commit, under way when
// the job ended, to its caller's reply (buffered, and not answered by the
// master): at once if the commit is done, else when it returns.
func (w *metadataWriter) answerLater(id int64, reply chan<- savepointResult) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.out {
		if r.id == id {
			reply <- r.savepointResult()
			return
		}
	}
	if w.later == nil {
		w.later = map[int64]chan<- savepointResult{}
	}
	w.later[id] = reply
}

func (r metadataWritten) savepointResult() savepointResult {
	if r.err != nil {
		return savepointResult{err: fmt.Errorf("%w: savepoint %d: metadata commit: %w", ErrSavepoint, r.id, r.err)}
	}
	return savepointResult{path: r.path}
}

func (w *metadataWriter) run() {
	for {
		c, ok := w.next()
		if !ok {
			return
		}
		if c.meta == nil {
			w.discardNow(c.discard)
			continue
		}
		path, err := w.commitNow(c.meta)
		r := metadataWritten{id: c.meta.ID, path: path, err: err}
		w.mu.Lock()
		w.out = append(w.out, r)
		reply := w.later[r.id]
		delete(w.later, r.id)
		w.mu.Unlock()
		if reply != nil {
			reply <- r.savepointResult()
		}
		w.notify()
	}
}

// next waits for the next call; false once closing with nothing queued,
// after which the goroutine returns (push starts it again).
func (w *metadataWriter) next() (storeCall, bool) {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			c := w.queue[0]
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return c, true
		}
		if w.closing {
			w.exited = true
			w.mu.Unlock()
			return storeCall{}, false
		}
		w.mu.Unlock()
		<-w.wake
	}
}

// commitNow commits m unless the guard refuses, naming the checkpoint.
// The guard is asked again once the commit has returned: a commit that
// outlasted the master's hold on its job (a slow store, a pause of the
// process) may be durable, but the master must not complete it — tell
// sinks to commit — since another master may already have restored an
// earlier checkpoint. Left in the store, it is a consistent checkpoint
// that only a restore may use.
func (w *metadataWriter) commitNow(m *persistence.Metadata) (string, error) {
	if w.guard != nil {
		if err := w.guard(); err != nil {
			return "", fmt.Errorf("actors: checkpoint %d not committed: %w", m.ID, err)
		}
	}
	path, err := w.store.CommitMetadata(m)
	if err != nil || w.guard == nil {
		return path, err
	}
	if err := w.guard(); err != nil {
		return "", fmt.Errorf("actors: checkpoint %d written to %s but not completed: %w", m.ID, path, err)
	}
	return path, nil
}

func (w *metadataWriter) discardNow(id int64) {
	if err := w.store.Discard(id); err != nil {
		w.log.Warn("discarding checkpoint", "checkpoint", id, "err", err)
	}
}

// writerGrace bounds how long Engine.Close waits for the metadata
// writers of ended jobs, whose last commit a hung store may hold.
const writerGrace = 5 * time.Second

// waitGroup waits for the goroutines in wg for at most d, and reports
// whether they all returned. If they did not, its own goroutine waits on
// for them and ends with the last.
func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return closedWithin(done, d)
}

// closedWithin waits up to d for done to be closed and reports whether it
// was.
func closedWithin(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
