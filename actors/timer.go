package actors

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// ownedTimer sends a message to an actor after a delay, and belongs to
// that actor: stop cancels it and, if it has fired already, waits until
// its send is done, so that no timer of an actor outlives the actor's
// stop (time.AfterFunc's Stop does not wait for a callback under way).
// Its methods are called from the owning actor's Receive.
type ownedTimer struct {
	t    *time.Timer
	sent sync.WaitGroup // the callback, from arming until it ran or was stopped
}

// sendAfter arms a timer that sends msg to pid after d.
func sendAfter(root *actor.RootContext, d time.Duration, pid *actor.PID, msg any) *ownedTimer {
	o := &ownedTimer{}
	o.sent.Add(1)
	o.t = time.AfterFunc(d, func() {
		defer o.sent.Done()
		root.Send(pid, msg)
	})
	return o
}

// stop cancels the timer, or waits for its send if it fired. Safe on a
// nil timer and twice.
func (o *ownedTimer) stop() {
	if o == nil {
		return
	}
	if o.t.Stop() {
		o.sent.Done() // the callback will never run
	}
	o.sent.Wait()
}
