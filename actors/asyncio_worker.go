package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
)

// asyncWorker is an invoker child actor of an async operator's subtask.
// It runs each call it is given on a goroutine of its own, so that neither
// it nor the subtask ever waits for the user's function: it stays able to
// take its Stop at once, and a function that hangs holds only its own
// goroutine. The reply goes into the operator's inbox.
//
// Each call's context is cancelled at the call's deadline (the record's
// timeout) and when the worker stops (the subtask closes, finishes,
// fails or is cancelled); a function that honours its context then
// returns and its goroutine ends.
type asyncWorker struct {
	inbox *asyncInbox
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
		w.life, w.cancel = context.WithCancel(context.Background())
	case *invokeMsg:
		w.run(m)
	case *actor.Stopping:
		if w.cancel != nil {
			w.cancel()
		}
	}
}

// run starts the call on its own goroutine.
func (w *asyncWorker) run(m *invokeMsg) {
	ctx, cancel := w.life, context.CancelFunc(func() {})
	if d := m.call.Deadline(); !d.IsZero() {
		ctx, cancel = context.WithDeadline(w.life, d)
	}
	inbox := w.inbox
	go func() {
		defer cancel()
		inbox.put(m.call.Run(ctx))
	}()
}
