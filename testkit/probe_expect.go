package testkit

import (
	"reflect"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// FishResult is what a FishForMessage function decides about a message.
type FishResult int

const (
	// FishComplete ends the fishing with this message.
	FishComplete FishResult = iota + 1
	// FishContinue keeps the message among those caught and fishes on.
	FishContinue
	// FishIgnore drops the message and fishes on.
	FishIgnore
	// FishFail fails the test on this message.
	FishFail
)

// ExpectMessage takes the next message and fails the test unless it
// equals want (reflect.DeepEqual); it returns the message.
func (p *Probe) ExpectMessage(want any) any {
	p.k.t.Helper()
	msg := p.mustNext(0, func() string { return show(want) })
	if !reflect.DeepEqual(msg, want) {
		p.k.t.Fatalf("testkit: %s: expected message %s, got %s", pidKey(p.pid), show(want), show(msg))
	}
	return msg
}

// ExpectMessageType takes the next message of p and fails the test unless
// it is a T; it returns the message as a T.
func ExpectMessageType[T any](p *Probe) T {
	p.k.t.Helper()
	msg := p.mustNext(0, func() string { return "a " + reflect.TypeFor[T]().String() })
	v, ok := msg.(T)
	if !ok {
		p.k.t.Fatalf("testkit: %s: expected a message of type %v, got %s", pidKey(p.pid), reflect.TypeFor[T](), show(msg))
	}
	return v
}

// ExpectNoMessage waits d (dilated, even inside Within) and fails the
// test as soon as a message arrives.
func (p *Probe) ExpectNoMessage(d time.Duration) {
	p.k.t.Helper()
	d = Dilated(d)
	if msg, ok := p.next(time.Now().Add(d)); ok {
		p.k.t.Fatalf("testkit: %s: expected no message for %v, got %s", pidKey(p.pid), d, show(msg))
	}
}

// ReceiveMessages takes the next n messages, all within one timeout, and
// returns them in order.
func (p *Probe) ReceiveMessages(n int) []any {
	p.k.t.Helper()
	deadline := p.deadline(0)
	wait := time.Until(deadline)
	msgs := make([]any, 0, n)
	for len(msgs) < n {
		msg, ok := p.next(deadline)
		if !ok {
			p.k.t.Fatalf("testkit: %s: expected %d messages within %v, got %d: %s", pidKey(p.pid), n, wait.Round(time.Millisecond), len(msgs), showAll(msgs))
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

// FishForMessage takes messages, for at most d (dilated), until fn
// decides FishComplete, and returns that message. Messages for which fn
// decides FishContinue or FishIgnore are dropped; FishFail fails the test.
func (p *Probe) FishForMessage(d time.Duration, fn func(msg any) FishResult) any {
	p.k.t.Helper()
	caught := p.FishForMessages(d, fn)
	return caught[len(caught)-1]
}

// FishForMessages is FishForMessage returning, in order, the messages for
// which fn decided FishContinue, and last the one completing.
func (p *Probe) FishForMessages(d time.Duration, fn func(msg any) FishResult) []any {
	t := p.k.t
	t.Helper()
	deadline := p.deadline(d)
	wait := time.Until(deadline)
	var caught []any
	seen := 0
	for {
		msg, ok := p.next(deadline)
		if !ok {
			t.Fatalf("testkit: %s: fishing: no completing message within %v (%d seen; caught %s)", pidKey(p.pid), wait.Round(time.Millisecond), seen, showAll(caught))
		}
		seen++
		switch r := fn(msg); r {
		case FishComplete:
			return append(caught, msg)
		case FishContinue:
			caught = append(caught, msg)
		case FishIgnore:
		case FishFail:
			t.Fatalf("testkit: %s: fishing failed on message %s", pidKey(p.pid), show(msg))
		default:
			t.Fatalf("testkit: %s: fishing: invalid FishResult %d for message %s", pidKey(p.pid), r, show(msg))
		}
	}
}

// ExpectTerminated watches pid, unless the probe does already, and fails
// the test unless the next message is the *actor.Terminated of pid; an
// actor already gone counts. Take the messages before it first.
func (p *Probe) ExpectTerminated(pid *actor.PID) {
	p.k.t.Helper()
	p.Watch(pid)
	msg := p.mustNext(0, func() string { return "Terminated of " + pidKey(pid) })
	if term, ok := msg.(*actor.Terminated); !ok || pidKey(term.Who) != pidKey(pid) {
		p.k.t.Fatalf("testkit: %s: expected Terminated of %s, got %s", pidKey(p.pid), pidKey(pid), show(msg))
	}
}

// Within runs fn and fails the test if it takes longer than d (dilated).
// Expectations of p inside fn wait at most until that deadline, which an
// enclosing Within may shorten; those without a duration of their own wait
// until it rather than DefaultTimeout.
func (p *Probe) Within(d time.Duration, fn func()) {
	t := p.k.t
	t.Helper()
	d = Dilated(d)
	start := time.Now()
	deadline := start.Add(d)
	p.mu.Lock()
	if n := len(p.deadlines); n > 0 && p.deadlines[n-1].Before(deadline) {
		deadline = p.deadlines[n-1]
	}
	p.deadlines = append(p.deadlines, deadline)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.deadlines = p.deadlines[:len(p.deadlines)-1]
		p.mu.Unlock()
	}()
	fn()
	if time.Now().After(deadline) {
		t.Fatalf("testkit: %s: Within(%v): the block took %v, past its deadline", pidKey(p.pid), d, time.Since(start))
	}
}

// deadline returns until when an expectation waits: d (dilated) from now,
// or DefaultTimeout if d is 0, bounded by the innermost Within, whose
// deadline replaces DefaultTimeout.
func (p *Probe) deadline(d time.Duration) time.Time {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.deadlines); n > 0 {
		within := p.deadlines[n-1]
		if d > 0 && now.Add(Dilated(d)).Before(within) {
			return now.Add(Dilated(d))
		}
		return within
	}
	if d > 0 {
		return now.Add(Dilated(d))
	}
	return now.Add(p.k.timeout)
}

// next takes the next message before deadline, recording its sender.
func (p *Probe) next(deadline time.Time) (any, bool) {
	e, ok := p.in.take(deadline)
	if ok {
		p.mu.Lock()
		p.last = e
		if term, isTerm := e.msg.(*actor.Terminated); isTerm {
			delete(p.watching, pidKey(term.Who))
		}
		p.mu.Unlock()
	}
	return e.msg, ok
}

// mustNext takes the next message within d (see deadline) or fails the
// test, saying what was expected.
func (p *Probe) mustNext(d time.Duration, what func() string) any {
	p.k.t.Helper()
	deadline := p.deadline(d)
	wait := time.Until(deadline)
	msg, ok := p.next(deadline)
	if !ok {
		p.k.t.Fatalf("testkit: %s: no message within %v, expected %s", pidKey(p.pid), wait.Round(time.Millisecond), what())
	}
	return msg
}
