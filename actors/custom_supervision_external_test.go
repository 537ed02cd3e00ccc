package actors_test

import (
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// router is a user actor that hands every message to a worker child it
// spawned, which answers the subtask directly (Forward keeps the sender):
// the actor's own children doing the operator's work. The router's
// props may carry a supervisor strategy of the user's.
type router struct {
	worker *actor.PID
	trap   *trap
}

func (r *router) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		r.worker = ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return &worker{trap: r.trap} }))
	case *actors.Input[keyed], *actors.EndOfInput:
		ctx.Forward(r.worker)
	}
}

// worker passes records through; its trap makes it panic once.
type worker struct{ trap *trap }

func (w *worker) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Input[keyed]:
		w.trap.spring("input")
		out := make([]operators.Element[tally], len(m.Records))
		for i, r := range m.Records {
			out[i] = operators.Element[tally]{Value: tally{Seq: r.Value.Seq, Key: r.Value.Key}, Timestamp: r.Timestamp}
		}
		ctx.Respond(&actors.Output[tally]{Records: out})
	case *actors.EndOfInput:
		ctx.Respond(&actors.Output[tally]{})
	}
}

func routerJob(name string, n int64, props *actor.Props, opts ...actors.ActorOption) (*operators.Pipeline, *operators.Collected[tally]) {
	p := operators.NewPipeline(name).SetParallelism(2)
	src := operators.Generate(p, n, func(i int64) keyed { return keyed{Key: i % 5, Seq: i} },
		operators.RateLimit(4000)).Name("gen").Parallelism(1)
	return p, operators.Collect(actors.FromActor[keyed, tally](src.Rebalance(), props, opts...).Name("router"))
}

// A failure of a child of the user's actor escalates to the subtask, by
// default: the job fails over from its latest checkpoint, as after any
// operator failure, and stays exactly-once.
func TestFromActor_childFailureFailsOverFromCheckpoint(t *testing.T) {
	const n = 4000
	tr := &trap{kind: "input", n: 60}
	props := actor.PropsFromProducer(func() actor.Actor { return &router{trap: tr} })
	r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond))
	p, out := routerJob("child-failure", n, props)
	res := r.Run(p)
	if res.State != actors.JobFinished || res.Restarts != 1 || !tr.fired.Load() {
		t.Fatalf("got %v (trap fired %v); want finished after 1 restart", res, tr.fired.Load())
	}
	testkit.AssertExactlyOnce(t, map[string][]int64{"gen": testkit.SeqRange(0, n)}, out.Values(), tallyID)
}

// A supervisor strategy of the user's own is kept: here it restarts the
// failed worker in place, which drops the message it was handling (as
// Proto.Actor does), so no reply comes, and the reply timeout fails the
// subtask instead of the job hanging. The docs say what such a strategy
// costs.
func TestFromActor_userSupervisorStrategyIsKept(t *testing.T) {
	tr := &trap{kind: "input", n: 3}
	restart := actor.NewOneForOneStrategy(10, time.Second, func(any) actor.Directive { return actor.RestartDirective })
	props := actor.PropsFromProducer(func() actor.Actor { return &router{trap: tr} }, actor.WithSupervisor(restart))
	r := testkit.NewRunner(t, testkit.WithRestart(actors.NoRestart()))
	p, _ := routerJob("user-strategy", 2000, props, actors.WithReplyTimeout(200*time.Millisecond))
	res := r.Run(p)
	var pe *actors.PanicError
	if res.State != actors.JobFailed || !errors.Is(res.Err, actors.ErrReplyTimeout) || errors.As(res.Err, &pe) {
		t.Fatalf("got %v; want the job failed by the reply timeout (the restarted worker dropped its message), not by the panic", res)
	}
}
