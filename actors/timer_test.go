package actors

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// However often a timer that sends unless a message of its kind is
// pending is re-armed, the receiver's mailbox gets one such message until
// the receiver clears the flag — the bound a subtask's mailbox and its
// timers' stop count on.
func TestSendAfterUnlessPending_oneMessageUntilCleared(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return QuietLogger() }))
	var got, marks atomic.Int64
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *timerMsg:
			got.Add(1)
		case *flushMsg: // a marker: every send before it is in
			marks.Add(1)
		}
	}))
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	var pending atomic.Bool
	fire := func(n int) {
		for range n {
			tm := sendAfterUnlessPending(sys.Root, 0, pid, &timerMsg{}, &pending)
			tm.sent.Wait() // it fires at once: wait until its callback has run
		}
		mark := marks.Load() + 1
		sys.Root.Send(pid, &flushMsg{})
		eventually(t, 10*time.Second, func() bool { return marks.Load() == mark }, "the marker")
	}
	fire(3)
	if n := got.Load(); n != 1 {
		t.Fatalf("%d messages while one was pending, want 1", n)
	}
	pending.Store(false) // the receiver took it
	fire(2)
	if n := got.Load(); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}
