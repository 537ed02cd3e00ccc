package testkit

import (
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
)

// SupervisorEventCopy is a supervisor's decision about a failed actor, as
// published on the actor system's EventStream (an actor.SupervisorEvent).
// Escalations are not published, so they are not recorded.
type SupervisorEventCopy struct {
	Child     *actor.PID      // the actor that failed
	Reason    any             // what it panicked with
	Directive actor.Directive // what its supervisor did about it
}

// SupervisionRecorder records every supervisor decision in a Kit's actor
// system since the kit was created. It is safe for concurrent use; the
// Expect methods fail the kit's test.
type SupervisionRecorder struct {
	k   *Kit
	sub *eventstream.Subscription

	mu      sync.Mutex
	events  []SupervisorEventCopy
	checked map[string]int // per child: events already taken by an Expect
	changed chan struct{}  // closed, and replaced, on every event
}

func newSupervisionRecorder(k *Kit) *SupervisionRecorder {
	r := &SupervisionRecorder{k: k, checked: make(map[string]int), changed: make(chan struct{})}
	r.sub = k.sys.EventStream.SubscribeWithPredicate(r.record, func(evt any) bool {
		_, ok := evt.(*actor.SupervisorEvent)
		return ok
	})
	return r
}

// Supervision returns the recorder of supervisor decisions, which has
// listened since New.
func (k *Kit) Supervision() *SupervisionRecorder { return k.supervision }

// record runs on the goroutine of the supervisor that decided.
func (r *SupervisionRecorder) record(evt any) {
	e := evt.(*actor.SupervisorEvent)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, SupervisorEventCopy{Child: e.Child, Reason: e.Reason, Directive: e.Directive})
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *SupervisionRecorder) close() { r.k.sys.EventStream.Unsubscribe(r.sub) }

// ExpectRestart waits, up to DefaultTimeout, for the next decision about
// pid not yet taken by an Expect method, fails the test unless it is a
// restart, and returns the reason of the failure.
func (r *SupervisionRecorder) ExpectRestart(pid *actor.PID) (reason any) {
	r.k.t.Helper()
	return r.expect(pid, actor.RestartDirective)
}

// ExpectStop waits, up to DefaultTimeout, for the next decision about pid
// not yet taken by an Expect method, fails the test unless its supervisor
// stopped it, and returns the reason of the failure. A restart strategy
// whose retries ran out decides to stop.
func (r *SupervisionRecorder) ExpectStop(pid *actor.PID) (reason any) {
	r.k.t.Helper()
	return r.expect(pid, actor.StopDirective)
}

func (r *SupervisionRecorder) expect(pid *actor.PID, want actor.Directive) any {
	t := r.k.t
	t.Helper()
	timeout := r.k.timeout
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		e, ok, changed := r.next(pid)
		if ok {
			if e.Directive != want {
				t.Fatalf("testkit: expected %v of %s, its supervisor decided %v (reason: %v)", want, pidKey(pid), e.Directive, e.Reason)
			}
			return e.Reason
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("testkit: expected %v of %s within %v, got no supervisor decision", want, pidKey(pid), timeout)
		}
	}
}

// next takes the next unchecked event of pid, or returns a channel closed
// at the next event.
func (r *SupervisionRecorder) next(pid *actor.PID) (SupervisorEventCopy, bool, <-chan struct{}) {
	key := pidKey(pid)
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := 0
	for _, e := range r.events {
		if pidKey(e.Child) != key {
			continue
		}
		if seen == r.checked[key] {
			r.checked[key]++
			return e, true, nil
		}
		seen++
	}
	return SupervisorEventCopy{}, false, r.changed
}

// Restarts returns how many times pid was restarted so far.
func (r *SupervisionRecorder) Restarts(pid *actor.PID) int {
	key := pidKey(pid)
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Directive == actor.RestartDirective && pidKey(e.Child) == key {
			n++
		}
	}
	return n
}

// Failures returns every decision recorded so far, oldest first.
func (r *SupervisionRecorder) Failures() []SupervisorEventCopy {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}
