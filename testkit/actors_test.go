package testkit

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Actors the tests of the kit drive.

// echo answers "ping" with "pong" and panics on "boom".
func echo(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case string:
		switch m {
		case "ping":
			ctx.Respond("pong")
		case "boom":
			panic("boom")
		}
	}
}

// startAsking asks the asker to Request question from whom.
type startAsking struct {
	whom     *actor.PID
	question string
}

// asker Requests questions and sends "got <answer>" to the sender of the
// startAsking that asked it.
func asker() actor.ReceiveFunc {
	var reportTo *actor.PID
	return func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case startAsking:
			reportTo = ctx.Sender()
			ctx.Request(m.whom, m.question)
		case string:
			ctx.Send(reportTo, "got "+m)
		}
	}
}

// spawnChild asks a parent to spawn an echo child and answer with its PID.
type spawnChild struct{}

// parentProps returns a parent whose children are echo actors supervised
// by strategy.
func parentProps(strategy actor.SupervisorStrategy) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(spawnChild); ok {
			ctx.Respond(ctx.Spawn(actor.PropsFromFunc(echo)))
		}
	}, actor.WithSupervisor(strategy))
}

// spawnEchoChild spawns a parent supervising with strategy and returns its
// echo child.
func spawnEchoChild(t *testing.T, k *Kit, strategy actor.SupervisorStrategy) *actor.PID {
	t.Helper()
	parent := k.Spawn(parentProps(strategy))
	res, err := k.System().Root.RequestFuture(parent, spawnChild{}, DefaultTimeout()).Result()
	if err != nil {
		t.Fatalf("spawn child: %v", err)
	}
	return res.(*actor.PID)
}

// gate blocks an actor on its first message until the test opens it.
type gate chan struct{}

// blockingProps returns an actor that sends every int it receives to
// report and then, the first time, blocks until g is closed.
func blockingProps(g gate, report *actor.PID) *actor.Props {
	first := true
	return actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(int); ok {
			ctx.Send(report, m)
			if first {
				first = false
				<-g
			}
		}
	})
}

// elapsedBelow fails the test if fn took d or more.
func elapsedBelow(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	if took := time.Since(start); took >= d {
		t.Errorf("took %v, want less than %v", took, d)
	}
}
