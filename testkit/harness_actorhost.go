package testkit

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
)

// The harness's side of actor operators (actors.FromActor,
// FromKeyedActor): harnessHost implements actors.ActorHost with an actor
// system of the harness's own, started on first use. The user's actor
// runs as a child of a relay actor, which stands in for the subtask: it
// receives the actor's replies and failures and passes them to the
// test's goroutine, where the harness hands them to the chain, one
// request at a time, before a step returns. So a step of the harness
// ends with the actor idle and every reply handled, as deterministic as
// the operator's own code.

var _ actors.ActorHost = (*harnessHost)(nil)

// actorSide is the harness host's actor system and what passes through it.
type actorSide struct {
	t       testing.TB
	log     *logBuffer
	sys     *actor.ActorSystem
	relay   *actor.PID
	replies chan any // from the relay: replies, and actorFailure
	pending int      // requests sent and not yet answered
	sent    []any    // every message sent to an operator's actor, in order
	ops     []any    // the actor operators opened (actors' OperatorOpened)
	wait    time.Duration
	// lastState is the entries of the last State an actor answered with.
	lastState [][]byte
}

// actorFailure is a failure of an operator's actor, as the relay, its
// supervisor, saw it.
type actorFailure struct{ reason any }

// spawnRequest asks the relay to spawn an operator's actor as its child.
type spawnRequest struct {
	props *actor.Props
	done  chan spawnResult
}

type spawnResult struct {
	pid *actor.PID
	err error
}

// stoppedChild is a child's Terminated, queued behind its last replies.
type stoppedChild struct{ *actor.Terminated }

// relay is the parent of the operators' actors in a harness.
type relay struct{ out chan<- any }

func (r *relay) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case *actor.Terminated:
		// An operator's actor stopped: the harness tells the chain, as a
		// subtask does (see next). Proto.Actor delivers Terminated as a
		// system message, ahead of the replies queued before it: it goes
		// to the test behind them (stoppedChild).
		ctx.Send(ctx.Self(), stoppedChild{m})
	case stoppedChild:
		r.out <- m.Terminated
	case *spawnRequest:
		m.done <- spawnOperatorActor(ctx, m.props)
	default:
		r.out <- m
	}
}

// HandleFailure makes the relay the supervisor of its children: their
// failures go to the test, as a subtask's go to its job; the failed
// actor stays suspended until the harness stops it.
func (r *relay) HandleFailure(_ *actor.ActorSystem, _ actor.Supervisor, _ *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	r.out <- actorFailure{reason: reason}
}

func spawnOperatorActor(ctx actor.Context, props *actor.Props) (res spawnResult) {
	defer func() {
		if r := recover(); r != nil {
			res = spawnResult{err: fmt.Errorf("spawn the operator's actor: %v", r)}
		}
	}()
	pid, err := ctx.SpawnNamed(props, "actor-"+ctx.ActorSystem().ProcessRegistry.NextId())
	return spawnResult{pid: pid, err: err}
}

// start starts the actor system and the relay, and registers their
// shutdown with the test; the harness's own cleanup, registered later,
// closes the chain (stopping the operators' actors) before it.
func (a *actorSide) start() {
	if a.sys != nil {
		return
	}
	a.log = &logBuffer{}
	a.sys = actors.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return a.log.logger() }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond))
	a.replies = make(chan any, 64)
	a.relay = a.sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &relay{out: a.replies} }))
	a.t.Cleanup(func() {
		_ = a.sys.Root.StopFuture(a.relay).Wait()
		a.sys.Shutdown()
		if a.t.Failed() {
			a.t.Logf("harness: actor system log:\n%s", a.log)
		}
	})
}

// Spawn implements actors.ActorHost.
func (h *harnessHost) Spawn(props *actor.Props) (*actor.PID, error) {
	a := &h.actors
	a.start()
	done := make(chan spawnResult, 1)
	a.sys.Root.Send(a.relay, &spawnRequest{props: props, done: done})
	res := <-done
	return res.pid, res.err
}

// Request implements actors.ActorHost: the reply comes to the relay.
func (h *harnessHost) Request(pid *actor.PID, msg any) {
	a := &h.actors
	a.pending++
	a.sent = append(a.sent, msg)
	a.sys.Root.RequestWithCustomSender(pid, msg, a.relay)
}

// Stop implements actors.ActorHost.
func (h *harnessHost) Stop(pid *actor.PID) error {
	return h.actors.sys.Root.StopFuture(pid).Wait()
}

// OperatorOpened is called by actor operators as they open (see
// actors.actorOp): the harness reads a keyed actor's state through them.
func (h *harnessHost) OperatorOpened(op any) { h.actors.ops = append(h.actors.ops, op) }

// next waits for the reply to the request in flight, a failure of the
// actor, or the news that it stopped (which answers nothing: the chain
// fails the operator if it waits for a reply), within the harness's
// reply wait.
func (a *actorSide) next() (any, error) {
	timer := time.NewTimer(a.wait)
	defer timer.Stop()
	select {
	case m := <-a.replies:
		switch m := m.(type) {
		case actorFailure:
			return nil, failureError(m.reason)
		case *actor.Terminated:
			return m, nil
		}
		a.pending--
		return m, nil
	case <-timer.C:
		return nil, fmt.Errorf("%w: the operator's actor did not answer %T within %v", actors.ErrReplyTimeout, a.sent[len(a.sent)-1], a.wait)
	}
}

// failureError makes an actor's failure an error, as a job reports it.
func failureError(reason any) error {
	if err, ok := reason.(*actors.PanicError); ok {
		return err
	}
	return &actors.PanicError{Value: reason}
}
