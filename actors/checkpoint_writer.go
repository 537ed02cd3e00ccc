package actors

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/troupe-dev/troupe/persistence"
)

// metadataWriter makes checkpoint metadata durable and discards what
// aborted checkpoints wrote, one store call at a time, in the order asked,
// on a goroutine of its own: the master never blocks on the store, the
// store never sees two commits at once (its contract), and a discard
// never runs alongside a commit.
//
// The checkpointer owns it: commit, discard, results and close are called
// from the job master's Receive only. close stops the goroutine after the
// queued calls and waits for it.
type metadataWriter struct {
	store  CheckpointStore
	log    *slog.Logger
	notify func()       // tells the master that results wait; any goroutine
	guard  func() error // GuardCommits's; nil: commit always

	mu      sync.Mutex
	queue   []storeCall
	out     []metadataWritten // commits done, not yet taken by the master
	closing bool

	wake chan struct{} // capacity 1: the queue changed
	done chan struct{} // closed when the goroutine has returned
	shut bool          // close was called (master's goroutine only)
}

// storeCall is a commit (meta) or a discard (of checkpoint discard).
type storeCall struct {
	meta    *persistence.Metadata
	discard int64
}

func newMetadataWriter(store CheckpointStore, guard func() error, log *slog.Logger, notify func()) *metadataWriter {
	w := &metadataWriter{store: store, guard: guard, log: log, notify: notify,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// commit queues the commit of m; its result comes back through results,
// after a notify.
func (w *metadataWriter) commit(m *persistence.Metadata) { w.push(storeCall{meta: m}) }

// discard queues the discard of checkpoint id. After close, it discards
// at once: nothing else uses the store then.
func (w *metadataWriter) discard(id int64) {
	if w.shut {
		w.discardNow(id)
		return
	}
	w.push(storeCall{discard: id})
}

func (w *metadataWriter) push(c storeCall) {
	w.mu.Lock()
	w.queue = append(w.queue, c)
	w.mu.Unlock()
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
	return out
}

// close lets the queued calls finish, then stops the goroutine and waits
// for it. The results of the last commits stay for results. Safe to call
// twice.
func (w *metadataWriter) close() {
	if w.shut {
		return
	}
	w.shut = true
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
}

func (w *metadataWriter) run() {
	defer close(w.done)
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
		w.mu.Lock()
		w.out = append(w.out, metadataWritten{id: c.meta.ID, path: path, err: err})
		w.mu.Unlock()
		w.notify()
	}
}

// next waits for the next call; false once closing with nothing queued.
func (w *metadataWriter) next() (storeCall, bool) {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			c := w.queue[0]
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return c, true
		}
		closing := w.closing
		w.mu.Unlock()
		if closing {
			return storeCall{}, false
		}
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
