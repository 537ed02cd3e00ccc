package testkit

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

type ping struct{ N int }

func TestProbe_ExpectMessage(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	k.System().Root.Send(p.Ref(), ping{N: 1})
	if got := p.ExpectMessage(ping{N: 1}); got != (ping{N: 1}) {
		t.Errorf("ExpectMessage returned %v", got)
	}

	k.System().Root.Send(p.Ref(), ping{N: 2})
	msg := kitFailure(t, k, func() { p.ExpectMessage(ping{N: 3}) })
	wantContains(t, msg, "expected message testkit.ping{N:3}, got testkit.ping{N:2}")

	k.timeout = 20 * time.Millisecond
	msg = kitFailure(t, k, func() { p.ExpectMessage(ping{N: 4}) })
	wantContains(t, msg, "no message within", "expected testkit.ping{N:4}")
}

func TestExpectMessageType(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	k.System().Root.Send(p.Ref(), &ping{N: 1})
	if got := ExpectMessageType[*ping](p); got.N != 1 {
		t.Errorf("got %v", got)
	}

	k.System().Root.Send(p.Ref(), "text")
	msg := kitFailure(t, k, func() { ExpectMessageType[*ping](p) })
	wantContains(t, msg, "expected a message of type *testkit.ping, got \"text\"")

	k.timeout = 20 * time.Millisecond
	msg = kitFailure(t, k, func() { ExpectMessageType[fmt.Stringer](p) })
	wantContains(t, msg, "no message within", "expected a fmt.Stringer")
}

func TestProbe_ExpectNoMessage(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	p.ExpectNoMessage(20 * time.Millisecond)

	k.System().Root.Send(p.Ref(), ping{N: 1})
	elapsedBelow(t, Dilated(time.Second), func() {
		msg := kitFailure(t, k, func() { p.ExpectNoMessage(time.Minute) })
		wantContains(t, msg, "expected no message for", "got testkit.ping{N:1}")
	})
}

func TestProbe_ReceiveMessages(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	const n = 10000 // many more than a mailbox turn: the probe never blocks
	for i := range n {
		k.System().Root.Send(p.Ref(), i)
	}
	msgs := p.ReceiveMessages(n)
	for i, m := range msgs {
		if m != i {
			t.Fatalf("message %d is %v", i, m)
		}
	}

	k.System().Root.Send(p.Ref(), "one")
	k.timeout = 20 * time.Millisecond
	msg := kitFailure(t, k, func() { p.ReceiveMessages(2) })
	wantContains(t, msg, "expected 2 messages", `got 1: ["one"]`)
}

func TestProbe_FishForMessage(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	for i := range 6 {
		k.System().Root.Send(p.Ref(), i)
	}
	fish := func(msg any) FishResult {
		switch n := msg.(int); {
		case n == 3:
			return FishComplete
		case n%2 == 0:
			return FishContinue
		default:
			return FishIgnore
		}
	}
	if got := p.FishForMessage(time.Second, fish); got != 3 {
		t.Errorf("FishForMessage = %v, want 3", got)
	}
	p.ExpectMessage(4) // fishing stopped at 3

	for i := range 4 {
		k.System().Root.Send(p.Ref(), i)
	}
	got := p.FishForMessages(time.Second, fish)
	if fmt.Sprint(got) != "[0 2 3]" {
		t.Errorf("FishForMessages = %v, want [0 2 3]", got)
	}
}

func TestProbe_FishForMessage_fails(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	for _, tc := range []struct {
		name string
		fish FishResult
		want string
	}{
		{"fail", FishFail, "fishing failed on message 1"},
		{"invalid", 0, "invalid FishResult 0"},
		{"timeout", FishIgnore, "no completing message within"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k.System().Root.Send(p.Ref(), 1)
			msg := kitFailure(t, k, func() {
				p.FishForMessage(20*time.Millisecond, func(any) FishResult { return tc.fish })
			})
			wantContains(t, msg, tc.want)
		})
	}
}

func TestProbe_ExpectTerminated(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	pid := k.Spawn(actor.PropsFromFunc(echo))
	p.Watch(pid)
	k.System().Root.Stop(pid)
	p.ExpectTerminated(pid) // watched twice, terminated once
	p.ExpectTerminated(pid) // already gone: watching it answers at once
	p.ExpectNoMessage(20 * time.Millisecond)

	msg := kitFailure(t, k, func() { p.ExpectTerminated(nil) })
	wantContains(t, msg, "Watch(nil)")

	other := k.Spawn(actor.PropsFromFunc(echo))
	p.Send(other, "ping")
	msg = kitFailure(t, k, func() { p.ExpectTerminated(other) })
	wantContains(t, msg, "expected Terminated of", `got "pong"`)
}

func TestProbe_Within(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	pid := k.Spawn(actor.PropsFromFunc(echo))
	p.Within(time.Second, func() {
		p.Send(pid, "ping")
		p.ExpectMessage("pong")
	})

	msg := kitFailure(t, k, func() {
		p.Within(10*time.Millisecond, func() { p.ExpectNoMessage(30 * time.Millisecond) })
	})
	wantContains(t, msg, fmt.Sprintf("Within(%v): the block took", Dilated(10*time.Millisecond)))
}

func TestProbe_Within_boundsExpectations(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	elapsedBelow(t, Dilated(time.Second), func() { // DefaultTimeout is 3 s
		msg := kitFailure(t, k, func() {
			p.Within(time.Minute, func() {
				p.Within(50*time.Millisecond, func() { p.ExpectMessage("never") })
			})
		})
		wantContains(t, msg, "no message within", `expected "never"`)
	})
	elapsedBelow(t, Dilated(time.Second), func() { // an enclosing Within shortens
		msg := kitFailure(t, k, func() {
			p.Within(50*time.Millisecond, func() {
				p.Within(time.Minute, func() { p.FishForMessage(time.Minute, nil) })
			})
		})
		wantContains(t, msg, "no completing message within")
	})
	// Deadlines were popped: the default applies again.
	if d := time.Until(p.deadline(0)); d < k.timeout-time.Second {
		t.Errorf("deadline after Within in %v, want about %v", d, k.timeout)
	}
}

func TestProbe_SendReply(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	pid := k.Spawn(actor.PropsFromFunc(asker()))
	p.Send(pid, startAsking{whom: p.Ref(), question: "question"})
	p.ExpectMessage("question")
	if !p.Sender().Equal(pid) {
		t.Errorf("Sender() = %v, want %v", p.Sender(), pid)
	}
	p.Reply("answer")
	p.ExpectMessage("got answer")

	if p.Sender() != nil {
		t.Errorf("Sender() = %v for a message sent without sender", p.Sender())
	}
	msg := kitFailure(t, k, func() { p.Reply("again") })
	wantContains(t, msg, `Reply("again"): the last message has no sender`)
}
