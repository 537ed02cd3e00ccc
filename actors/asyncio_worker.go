package actors

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
)

// asyncSequencer is the sequencer child actor of an async operator's
// subtask. It runs the operator's sequencing code on the messages it gets
// (the subtask's commands, the workers' replies) and puts each release in
// the inbox. A panic in it escalates to the job agent, like a panic of
// the subtask, and fails the subtask.
type asyncSequencer struct {
	seq   operators.AsyncSequencer
	inbox *asyncInbox
}

// Receive implements actor.Actor.
func (a *asyncSequencer) Receive(ctx actor.Context) {
	defer rethrowWithStack()
	switch ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
		return
	}
	if rel := a.seq.Receive(ctx.Message()); rel != nil {
		a.inbox.put(rel)
	}
}

// asyncSeqRef is how workers reach the sequencer. Once closed it drops
// replies instead of sending them to a stopped actor (dead letters).
type asyncSeqRef struct {
	root *actor.RootContext
	pid  *actor.PID

	mu     sync.RWMutex
	closed bool
}

func (r *asyncSeqRef) send(msg any) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !r.closed {
		r.root.Send(r.pid, msg)
	}
}

func (r *asyncSeqRef) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
}

// asyncWorker is an invoker child actor of an async operator's subtask.
// It runs each call it is given on a goroutine of its own, so that neither
// it nor the subtask waits for the user's function while the job runs.
// The reply goes to the sequencer.
//
// Each call's context is cancelled at the call's deadline (the record's
// timeout), when the operator closes (the subtask finishes, fails or is
// cancelled: before the user's function is closed) and when the worker
// stops; a function that honours its context then returns and its
// goroutine ends. The worker owns its calls' goroutines: its stop waits
// for them, and so does its subtask's, the job's and Engine.Close, which
// therefore return only once no call of theirs runs. A function that
// ignores its context is waited for callGrace at most, then logged and
// left behind: a cancel must not hang on user code (as Flink's task
// cancellation gives up on a task thread after its watchdog's timeout).
type asyncWorker struct {
	operator string
	log      *slog.Logger
	calls    sync.WaitGroup // the goroutines of its calls
	seq      *asyncSeqRef
	// parent is the invoker's lifetime, cancelled when the operator
	// closes (asyncInvoker.Close).
	parent context.Context
	// life is the worker's lifetime, parent of every call's context. A
	// context kept in a struct, against the usual rule: an actor has no
	// call stack spanning its life to pass it down.
	life   context.Context
	cancel context.CancelFunc
}

// Receive implements actor.Actor.
func (w *asyncWorker) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.life, w.cancel = context.WithCancel(w.parent)
	case *invokeMsg:
		w.run(m)
	case *actor.Stopping:
		if w.cancel != nil {
			w.cancel()
		}
		w.waitCalls()
	}
}

// callGrace bounds how long a stopping async worker waits for calls that
// ignore their cancelled context.
const callGrace = 5 * time.Second

// waitCalls waits for the calls' goroutines, callGrace at most.
func (w *asyncWorker) waitCalls() {
	if !waitGroup(&w.calls, callGrace) {
		w.log.Error("async calls still run after their context was cancelled; not waiting for them any longer",
			"operator", w.operator, "waited", callGrace)
	}
}

// run starts the call on its own goroutine.
func (w *asyncWorker) run(m *invokeMsg) {
	ctx, cancel := w.life, context.CancelFunc(func() {})
	if d := m.call.Deadline(); !d.IsZero() {
		ctx, cancel = context.WithDeadline(w.life, d)
	}
	seq := w.seq
	w.calls.Go(func() {
		defer cancel()
		seq.send(m.call.Run(ctx))
	})
}
