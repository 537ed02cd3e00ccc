package testkit

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Probe is an actor whose messages the test reads, in the order the probe
// received them. Its actor never blocks: messages wait in an unbounded
// queue until the test takes them. Lifecycle messages (Started, Stopping,
// Stopped, Restarting) are not shown to the test; Terminated messages of
// watched actors are.
//
// Expectations take the next message and wait for it up to
// DefaultTimeout, or inside Within up to that block's deadline. Like the
// Kit, a Probe is used from the test's goroutine.
type Probe struct {
	k   *Kit
	pid *actor.PID
	in  *inbox

	mu        sync.Mutex
	last      envelope        // the message taken last
	deadlines []time.Time     // of the enclosing Within blocks, innermost last
	watching  map[string]bool // by pidKey: watched, Terminated not yet taken
}

// NewProbe spawns a probe actor, which the kit stops on cleanup.
func (k *Kit) NewProbe() *Probe {
	k.t.Helper()
	in := &inbox{ready: make(chan struct{}, 1)}
	pid := k.track(k.sys.Root.SpawnPrefix(actor.PropsFromFunc(in.receive), "probe-"))
	return &Probe{k: k, pid: pid, in: in, watching: make(map[string]bool)}
}

// Ref returns the probe's PID, to give to the actors under test.
func (p *Probe) Ref() *actor.PID { return p.pid }

// Send sends msg to pid with the probe as its sender, so that replies
// come back to the probe.
func (p *Probe) Send(pid *actor.PID, msg any) {
	p.k.sys.Root.RequestWithCustomSender(pid, msg, p.pid)
}

// Sender returns the sender of the message taken last, nil if it had none:
// Proto.Actor sets it for Request (and Probe.Send), not for Send or
// Respond.
func (p *Probe) Sender() *actor.PID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last.sender
}

// Reply sends msg, with the probe as sender, to the sender of the message
// taken last; the test fails if that message had no sender.
func (p *Probe) Reply(msg any) {
	p.k.t.Helper()
	sender := p.Sender()
	if sender == nil {
		p.k.t.Fatalf("testkit: %s: Reply(%s): the last message has no sender", pidKey(p.pid), show(msg))
	}
	p.Send(sender, msg)
}

// Watch makes the probe watch pid: when pid stops, the probe receives an
// *actor.Terminated. Watching an actor that is already gone gives one too.
// Watching pid again before its Terminated was taken does nothing.
func (p *Probe) Watch(pid *actor.PID) {
	p.k.t.Helper()
	if pid == nil {
		p.k.t.Fatalf("testkit: %s: Watch(nil)", pidKey(p.pid))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.watching[pidKey(pid)] {
		return
	}
	p.watching[pidKey(pid)] = true
	// Only an actor's own context can watch: ask the probe actor.
	p.k.sys.Root.Send(p.pid, watchRequest{pid: pid})
}

// envelope is a message together with its sender.
type envelope struct {
	msg    any
	sender *actor.PID
}

// watchRequest asks the probe actor to watch pid.
type watchRequest struct{ pid *actor.PID }

// inbox is the unbounded queue between the probe actor and the test.
type inbox struct {
	mu    sync.Mutex
	msgs  []envelope
	ready chan struct{} // holds a token when msgs may be non-empty
}

// receive is the probe actor; it never blocks.
func (in *inbox) receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case watchRequest:
		ctx.Watch(m.pid)
	default:
		in.mu.Lock()
		in.msgs = append(in.msgs, envelope{msg: m, sender: ctx.Sender()})
		in.mu.Unlock()
		select {
		case in.ready <- struct{}{}:
		default:
		}
	}
}

// take removes the oldest message, waiting for one until deadline.
func (in *inbox) take(deadline time.Time) (envelope, bool) {
	var timer *time.Timer
	for expired := false; ; {
		in.mu.Lock()
		if len(in.msgs) > 0 {
			e := in.msgs[0]
			in.msgs[0] = envelope{}
			in.msgs = in.msgs[1:]
			in.mu.Unlock()
			return e, true
		}
		in.mu.Unlock()
		if expired || !time.Now().Before(deadline) {
			return envelope{}, false
		}
		if timer == nil {
			timer = time.NewTimer(time.Until(deadline))
			defer timer.Stop()
		}
		select {
		case <-in.ready:
		case <-timer.C:
			expired = true // look once more: a message may have come with the deadline
		}
	}
}
