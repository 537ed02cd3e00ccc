package actors

import (
	"log/slog"
	"sync"
	"time"
)

// storeWork owns the goroutines that call the checkpoint stores on the
// engine's behalf and may outlive the actor that started them: each
// job's metadata writer, and the subtasks' state writes. A store that
// hangs must not hang a cancel (as Flink's checkpoint I/O never holds up
// a task's cancellation), so the job master and the subtasks never wait
// for these calls; the engine does, on Close, for a bounded time (wait).
// The zero value is ready; Go may be called from any goroutine until
// wait starts.
type storeWork struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[*ownedCall]struct{}
}

// ownedCall is one goroutine of storeWork: what it does, as log
// attributes.
type ownedCall struct{ attrs []any }

// Go runs f on a goroutine of its own, counted until it returns. attrs
// (slog's key-value pairs) name what it does — the checkpoint and the
// task — for the log if the engine gives up waiting for it.
func (w *storeWork) Go(f func(), attrs ...any) {
	c := &ownedCall{attrs: attrs}
	w.mu.Lock()
	if w.running == nil {
		w.running = make(map[*ownedCall]struct{})
	}
	w.running[c] = struct{}{}
	w.mu.Unlock()
	w.wg.Go(func() {
		defer w.done(c)
		f()
	})
}

func (w *storeWork) done(c *ownedCall) {
	w.mu.Lock()
	delete(w.running, c)
	w.mu.Unlock()
}

// wait waits for the goroutines for at most d and reports whether they
// all returned. If not, it logs each one still running, by what it
// does, and returns: those are abandoned to the store (a waitGroup
// goroutine waits on for them).
func (w *storeWork) wait(d time.Duration, log *slog.Logger) bool {
	if waitGroup(&w.wg, d) {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.running {
		log.Error("a checkpoint store still holds a call; not waiting for it any longer",
			append([]any{"waited", d}, c.attrs...)...)
	}
	return false
}
