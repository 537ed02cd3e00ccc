package testkit

import (
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

func TestKit_Spawn(t *testing.T) {
	k := New(t)
	if k.System() == nil {
		t.Fatal("System() is nil")
	}
	probe := k.NewProbe()
	pid := k.Spawn(actor.PropsFromFunc(echo))
	probe.Send(pid, "ping")
	probe.ExpectMessage("pong")

	named := k.SpawnNamed(actor.PropsFromFunc(echo), "echo")
	if named.Id != "echo" {
		t.Errorf("SpawnNamed: id %q, want echo", named.Id)
	}
	probe.Send(named, "ping")
	probe.ExpectMessage("pong")
}

func TestKit_SpawnNamed_nameTaken(t *testing.T) {
	k := New(t)
	k.SpawnNamed(actor.PropsFromFunc(echo), "echo")
	msg := kitFailure(t, k, func() { k.SpawnNamed(actor.PropsFromFunc(echo), "echo") })
	wantContains(t, msg, `spawn "echo"`)
}

// stoppedSignal returns props whose actor closes stopped when it stops.
func stoppedSignal(stopped chan struct{}) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Stopped); ok {
			close(stopped)
		}
	})
}

func TestNew_cleanupStopsActors(t *testing.T) {
	fake := &fakeTB{TB: t}
	k := New(fake)
	byKit, outside, child := make(chan struct{}), make(chan struct{}), make(chan struct{})
	k.Spawn(stoppedSignal(byKit))
	k.System().Root.Spawn(stoppedSignal(outside)) // not through the kit
	k.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			ctx.Spawn(stoppedSignal(child))
		}
	}))
	k.NewProbe()

	fake.runCleanups()
	for name, ch := range map[string]chan struct{}{"spawned by the kit": byKit, "spawned outside": outside, "child": child} {
		select {
		case <-ch:
		default:
			t.Errorf("actor %s not stopped by the cleanup", name)
		}
	}
	if fake.Failed() {
		t.Errorf("cleanup failed: %q %q", fake.fatals, fake.errors)
	}
	if !k.System().IsStopped() {
		t.Error("system not shut down")
	}
	if len(fake.logs) != 0 {
		t.Errorf("log of a passing test shown: %q", fake.logs)
	}
}

func TestNew_cleanupFailsOnLeakedGoroutine(t *testing.T) {
	fake := &fakeTB{TB: t}
	k := New(fake)
	k.leakTimeout = 50 * time.Millisecond
	release, exited := make(chan struct{}), make(chan struct{})
	go leakyGoroutine(release, exited)
	defer func() { close(release); <-exited }()

	fake.runCleanups()
	if len(fake.errors) != 1 {
		t.Fatalf("errors %q, want one about the leak", fake.errors)
	}
	wantContains(t, fake.errors[0], "goroutines leaked", "testkit.leakyGoroutine")
	if len(fake.logs) != 1 || !strings.Contains(fake.logs[0], "actor system started") {
		t.Errorf("the actor system's log was not shown on failure: %q", fake.logs)
	}
}

func leakyGoroutine(release, exited chan struct{}) {
	defer close(exited)
	<-release
}

func TestNew_cleanupFailsOnActorThatDoesNotStop(t *testing.T) {
	fake := &fakeTB{TB: t}
	k := New(fake)
	k.stopTimeout, k.leakTimeout = 50*time.Millisecond, 50*time.Millisecond
	g := make(gate)
	stopped := make(chan struct{})
	probe := k.NewProbe()
	pid := k.Spawn(blockingProps(g, probe.Ref()).Clone(actor.WithReceiverMiddleware(func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			next(c, env)
			if _, ok := env.Message.(*actor.Stopped); ok {
				close(stopped)
			}
		}
	})))
	k.System().Root.Send(pid, 1)
	defer func() { close(g); <-stopped }()
	probe.ExpectMessage(1) // the actor is blocked now

	fake.runCleanups()
	if len(fake.errors) < 2 {
		t.Fatalf("errors %q, want the actor and the goroutine blocked", fake.errors)
	}
	wantContains(t, fake.errors[0], "actors did not stop", pid.Id)
	wantContains(t, fake.errors[len(fake.errors)-1], "goroutines leaked")
}
