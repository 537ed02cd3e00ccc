package actors

import (
	"sync"
	"sync/atomic"
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
	return afterFunc(d, func() { root.Send(pid, msg) })
}

// sendAfterUnlessPending arms a timer that sends msg to pid after d
// unless *pending is set, and sets it; the receiver clears it as it takes
// msg. However often the timer is re-armed, the receiver's mailbox then
// holds one msg of this kind at most — which a bounded mailbox counts on
// (mailbox.Bound's control slack), and so does stop, which may wait for
// a send from the receiver's own goroutine: a send into its full
// mailbox would never end.
func sendAfterUnlessPending(root *actor.RootContext, d time.Duration, pid *actor.PID, msg any, pending *atomic.Bool) *ownedTimer {
	return afterFunc(d, func() {
		if pending.CompareAndSwap(false, true) {
			root.Send(pid, msg)
		}
	})
}

func afterFunc(d time.Duration, send func()) *ownedTimer {
	o := &ownedTimer{}
	o.sent.Add(1)
	o.t = time.AfterFunc(d, func() {
		defer o.sent.Done()
		send()
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
