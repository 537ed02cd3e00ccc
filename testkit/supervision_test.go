package testkit

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

func TestSupervisionRecorder_restart(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	restart := actor.NewOneForOneStrategy(10, time.Minute, actor.DefaultDecider)
	child := spawnEchoChild(t, k, restart)

	p.Send(child, "boom")
	if reason := k.Supervision().ExpectRestart(child); reason != "boom" {
		t.Errorf("ExpectRestart: reason %v, want boom", reason)
	}
	p.Send(child, "boom")
	k.Supervision().ExpectRestart(child)
	if n := k.Supervision().Restarts(child); n != 2 {
		t.Errorf("Restarts = %d, want 2", n)
	}
	p.Send(child, "ping") // the restarted child works
	p.ExpectMessage("pong")

	failures := k.Supervision().Failures()
	if len(failures) != 2 {
		t.Fatalf("Failures() = %v, want 2", failures)
	}
	for _, f := range failures {
		if !f.Child.Equal(child) || f.Directive != actor.RestartDirective || f.Reason != "boom" {
			t.Errorf("failure %+v, want a restart of %v for boom", f, child)
		}
	}

	k.timeout = 20 * time.Millisecond // all decisions taken: none comes
	msg := kitFailure(t, k, func() { k.Supervision().ExpectStop(child) })
	wantContains(t, msg, "expected StopDirective of", "got no supervisor decision")
}

func TestSupervisionRecorder_stop(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	stop := actor.NewOneForOneStrategy(10, time.Minute, func(any) actor.Directive { return actor.StopDirective })
	child := spawnEchoChild(t, k, stop)
	p.Watch(child)

	p.Send(child, "boom")
	if reason := k.Supervision().ExpectStop(child); reason != "boom" {
		t.Errorf("ExpectStop: reason %v, want boom", reason)
	}
	p.ExpectTerminated(child)
	if n := k.Supervision().Restarts(child); n != 0 {
		t.Errorf("Restarts = %d, want 0", n)
	}
}

func TestSupervisionRecorder_wrongDirective(t *testing.T) {
	k := New(t)
	p := k.NewProbe()
	child := spawnEchoChild(t, k, actor.NewOneForOneStrategy(10, time.Minute, actor.DefaultDecider))
	p.Send(child, "boom")
	msg := kitFailure(t, k, func() { k.Supervision().ExpectStop(child) })
	wantContains(t, msg, "expected StopDirective of", "its supervisor decided RestartDirective (reason: boom)")
}
