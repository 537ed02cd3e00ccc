package testkit

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

func TestKit_SpawnWithStats(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	g := make(gate)
	props := blockingProps(g, p.Ref())
	pid, stats := k.SpawnWithStats(props)

	const n = 100
	for i := range n {
		k.System().Root.Send(pid, i)
	}
	p.ExpectMessage(0) // the actor blocks on 0 with the other 99 queued
	Eventually(t, time.Second, func() bool { return stats.Snapshot().Posted == n+1 }, "all posted")
	close(g)
	p.ReceiveMessages(n - 1)
	Eventually(t, time.Second, func() bool {
		s, _ := k.MailboxStats(pid)
		return s.Len() == 0
	}, "mailbox of %v drained", pid)

	snap, ok := k.MailboxStats(pid)
	if !ok {
		t.Fatal("MailboxStats: no statistics")
	}
	// Started is a message too.
	if snap.Posted != n+1 || snap.Received != n+1 || snap.HighWater < n-1 {
		t.Errorf("MailboxStats = %+v, want %d posted and received, high water at least %d", snap, n+1, n-1)
	}

	// props was not modified: an actor spawned from it counts elsewhere.
	other := k.Spawn(props)
	k.System().Root.Send(other, 0)
	p.ExpectMessage(0)
	if again, _ := k.MailboxStats(pid); again != snap {
		t.Errorf("statistics changed by another actor: %+v, then %+v", snap, again)
	}
	if _, ok := k.MailboxStats(other); ok {
		t.Error("MailboxStats of an actor spawned without statistics")
	}
}

func TestKit_SpawnWithStats_bounded(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	pid, stats := k.SpawnWithStats(actor.PropsFromFunc(echo), WithBoundedMailbox(4))
	for range 3 {
		p.Send(pid, "ping")
	}
	p.ReceiveMessages(3)
	Eventually(t, time.Second, func() bool { return stats.Snapshot().Received == 4 })
	if s := stats.Snapshot(); s.Posted != 4 {
		t.Errorf("stats %+v, want 4 posted", s)
	}
}
