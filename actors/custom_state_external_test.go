package actors_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// Stateful actor operators under failures: a summer (FromActor with its
// own state, WithState) and a keyed counter (FromKeyedActor with the
// engine's keyed state) after a one-subtask source of n records, each
// record carrying its sequence number. Checkpoints every 5 ms, so that
// failures restore mid-stream.

const actorJobKeys = 17

// actorJob is one stateful actor pipeline: gen → the actor (named
// "summer" or "counter") at parallelism par → collect.
type actorJob struct {
	name  string
	n     int64
	par   int
	rate  float64 // records per second at the source
	keyed bool
	union bool  // the summer's entries as a union list
	trap  *trap // the actor's own failure, if any
}

func (j actorJob) op() string {
	if j.keyed {
		return "counter"
	}
	return "summer"
}

// build makes the pipeline, collecting into into (nil: a new sink).
func (j actorJob) build(into *operators.Collected[tally]) (*operators.Pipeline, *operators.Collected[tally]) {
	p := operators.NewPipeline(j.name).SetParallelism(j.par)
	src := operators.Generate(p, j.n, func(i int64) keyed { return keyed{Key: i % actorJobKeys, Seq: i} },
		operators.RateLimit(j.rate)).Name("gen").Parallelism(1)
	var out operators.Stream[tally]
	if j.keyed {
		ks := operators.KeyBy(src, func(r keyed) int64 { return r.Key })
		out = actors.FromKeyedActor[keyed, int64, tally](ks, keyedCounterProps(j.trap)).Name("counter")
	} else {
		mode := actors.RoundRobin
		if j.union {
			mode = actors.Union
		}
		out = actors.FromActor[keyed, tally](src.Rebalance(), summerProps(j.union, j.trap), actors.WithState(mode)).Name("summer")
	}
	if into != nil {
		return p, operators.CollectTo(out, into)
	}
	return p, operators.Collect(out)
}

// check asserts that every record came out exactly once and that the
// actor's state survived: the summers' summaries add up to all the
// records, or each key's counts run 1, 2, … in the records' order.
func (j actorJob) check(t *testing.T, got []tally) {
	t.Helper()
	recs := records(got)
	testkit.AssertExactlyOnce(t, map[string][]int64{"gen": testkit.SeqRange(0, j.n)}, recs, tallyID)
	if j.keyed {
		for _, r := range recs {
			if want := r.Seq/actorJobKeys + 1; r.Count != want {
				t.Fatalf("record %d of key %d has count %d, want %d: the key's state was lost or counted twice", r.Seq, r.Key, r.Count, want)
			}
		}
		return
	}
	var count, sum int64
	for _, s := range got {
		if s.Summary {
			count, sum = count+s.Count, sum+s.Sum
		}
	}
	if count != j.n || sum != j.n*(j.n-1)/2 {
		t.Fatalf("the summers' states hold %d records summing to %d; want %d summing to %d", count, sum, j.n, j.n*(j.n-1)/2)
	}
}

// share returns how many records subtask i of the actor gets: an equal
// share behind a rebalance, its keys' records behind KeyBy.
func (j actorJob) share(i int) int64 {
	if !j.keyed {
		return j.n / int64(j.par)
	}
	var n int64
	for k := range int64(actorJobKeys) {
		if operators.SubtaskOf(operators.KeyGroup(operators.HashKey(k), 128), j.par, 128) == i {
			n += j.n / actorJobKeys
		}
	}
	return n
}

// randomFaults fails the actor twice at random: at a record of a random
// subtask in the first attempt, and at a record of one in the attempt
// that restored, early enough that the restored subtask still gets it
// (it handles only what came after the checkpoint).
func (j actorJob) randomFaults(rng *rand.Rand, f *testkit.Faults) {
	first, second := j.busySubtask(rng), j.busySubtask(rng)
	at := j.share(first)/8 + rng.Int64N(j.share(first)/3)
	f.FailAt(j.op(), testkit.AtRecord(at), testkit.InSubtask(first), testkit.InAttempt(0))
	left := j.share(second) - j.share(second)*3/4 // what it surely has left after the first failure
	f.FailAt(j.op(), testkit.AtRecord(1+rng.Int64N(left/2)), testkit.InSubtask(second), testkit.InAttempt(1))
}

// busySubtask picks a subtask that gets records.
func (j actorJob) busySubtask(rng *rand.Rand) int {
	for {
		if i := rng.IntN(j.par); j.share(i) > 0 {
			return i
		}
	}
}

func newSeededRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0))
}

// A stateful actor, keyed and not, at parallelism 1, 2 and 4, fails twice
// at random records of random subtasks (once in the first attempt, once
// in the attempt that restored from a checkpoint): every record comes out
// exactly once, and the state is intact.
func TestActorOperator_randomFailures_exactlyOnce(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		for _, par := range []int{1, 2, 4} {
			j := actorJob{name: fmt.Sprintf("fail-%v-%d", keyed, par), n: 6000, par: par, rate: 6000, keyed: keyed}
			t.Run(fmt.Sprintf("%s/p%d", j.op(), par), func(t *testing.T) {
				rng := newSeededRand(t)
				r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond))
				j.randomFaults(rng, r.Faults())
				p, out := j.build(nil)
				res := r.Run(p)
				if res.State != actors.JobFinished || res.Restarts != 2 || len(r.Faults().Fired()) != 2 {
					t.Fatalf("got %v with faults %v; want finished after 2 restarts", res, r.Faults().Fired())
				}
				j.check(t, out.Values())
			})
		}
	}
}

// Failures at the seams of the actor's state: the runtime failing the
// operator's snapshot, restore or close (testkit faults), and the user's
// actor panicking while it answers Snapshot or Restore. Every time the
// job restarts from its latest checkpoint and stays exactly-once.
func TestActorOperator_failuresAtStateSeams_exactlyOnce(t *testing.T) {
	type seam struct {
		name     string
		keyed    bool
		trap     *trap
		faults   func(f *testkit.Faults, op string)
		restarts int
		fired    []operators.FaultPoint // the faults that must have fired (0: a record's)
	}
	recordFault := func(f *testkit.Faults, op string) { f.FailAt(op, testkit.AtRecord(700), testkit.InSubtask(1)) }
	seams := []seam{
		{name: "snapshot-fault", faults: func(f *testkit.Faults, op string) {
			f.FailAtSnapshot(op, testkit.AtRecord(4), testkit.InSubtask(0))
		}, restarts: 1, fired: []operators.FaultPoint{operators.FaultSnapshot}},
		{name: "restore-fault", faults: func(f *testkit.Faults, op string) {
			recordFault(f, op)
			f.FailAtRestore(op, testkit.InSubtask(0))
		}, restarts: 2, fired: []operators.FaultPoint{0, operators.FaultRestore}},
		{name: "close-fault", faults: func(f *testkit.Faults, op string) {
			recordFault(f, op)
			f.FailAtClose(op, testkit.InSubtask(1))
		}, restarts: 1, fired: []operators.FaultPoint{0, operators.FaultClose}},
		{name: "actor-panics-in-snapshot", trap: &trap{kind: "snapshot", n: 6}, restarts: 1},
		{name: "actor-panics-in-restore", trap: &trap{kind: "restore", n: 1}, faults: recordFault, restarts: 2,
			fired: []operators.FaultPoint{0}},
		{name: "keyed-snapshot-fault", keyed: true, faults: func(f *testkit.Faults, op string) {
			f.FailAtSnapshot(op, testkit.AtRecord(4), testkit.InSubtask(0))
		}, restarts: 1, fired: []operators.FaultPoint{operators.FaultSnapshot}},
		{name: "keyed-restore-fault", keyed: true, faults: func(f *testkit.Faults, op string) {
			recordFault(f, op)
			f.FailAtRestore(op, testkit.InSubtask(1))
		}, restarts: 2, fired: []operators.FaultPoint{0, operators.FaultRestore}},
		{name: "keyed-close-fault", keyed: true, faults: func(f *testkit.Faults, op string) {
			recordFault(f, op)
			f.FailAtClose(op, testkit.InSubtask(0))
		}, restarts: 1, fired: []operators.FaultPoint{0, operators.FaultClose}},
	}
	for _, s := range seams {
		t.Run(s.name, func(t *testing.T) {
			j := actorJob{name: "seam-" + s.name, n: 4000, par: 2, rate: 4000, keyed: s.keyed, trap: s.trap}
			r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond))
			if s.faults != nil {
				s.faults(r.Faults(), j.op())
			}
			p, out := j.build(nil)
			res := r.Run(p)
			if res.State != actors.JobFinished || res.Restarts != s.restarts {
				t.Fatalf("got %v with faults %v; want finished after %d restarts", res, r.Faults().Fired(), s.restarts)
			}
			var fired []operators.FaultPoint
			for _, f := range r.Faults().Fired() {
				fired = append(fired, f.Point)
			}
			if !slices.Equal(fired, s.fired) {
				t.Fatalf("faults fired at %v, want %v", fired, s.fired)
			}
			if s.trap != nil && !s.trap.fired.Load() {
				t.Fatalf("the actor's trap (%s %d) never fired", s.trap.kind, s.trap.n)
			}
			j.check(t, out.Values())
		})
	}
}

// A stateful actor stopped with a savepoint at parallelism 4 and resumed
// at 2 and at 6: across both jobs every record comes out exactly once
// and the state is intact — the summers' entries dealt round robin or
// given to all (each keeping its share), the counters' keyed state by
// key group.
func TestActorOperator_rescaleFromSavepoint(t *testing.T) {
	type kind struct {
		name         string
		keyed, union bool
	}
	for _, k := range []kind{{name: "round-robin"}, {name: "union", union: true}, {name: "keyed", keyed: true}} {
		for _, to := range []int{2, 6} {
			t.Run(fmt.Sprintf("%s/4to%d", k.name, to), func(t *testing.T) {
				j := actorJob{name: "rescale-" + k.name, n: 8000, par: 4, rate: 4000, keyed: k.keyed, union: k.union}
				r := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond))
				p1, sink := j.build(nil)
				job1 := r.Start(p1)
				testkit.Eventually(t, 10*time.Second, func() bool { _, ok := job1.LatestCheckpoint(); return ok }, "a complete checkpoint")
				ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(20*time.Second))
				defer cancel()
				path, err := job1.StopWithSavepoint(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if before := len(records(sink.Values())); before == 0 || before >= int(j.n) {
					t.Fatalf("the first job committed %d of %d records: the savepoint should fall mid-stream", before, j.n)
				}
				j.par = to
				p2, _ := j.build(sink)
				if res := r.Wait(r.Start(p2, actors.RestoreFrom(path))); res.State != actors.JobFinished {
					t.Fatalf("the rescaled job: %v", res)
				}
				j.check(t, sink.Values())
			})
		}
	}
}

// Without WithState a stateful actor keeps today's behaviour: its fields
// are lost when the job restarts, and its state no longer adds up (the
// records themselves still come out exactly once: the input is replayed
// from the checkpoint). The docs say so; this test shows it.
func TestFromActor_withoutState_losesItsStateOnRestart(t *testing.T) {
	const n = 4000
	r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond))
	r.Faults().FailAt("summer", testkit.AtRecord(3000))
	p := operators.NewPipeline("stateless-summer")
	src := operators.Generate(p, n, func(i int64) keyed { return keyed{Seq: i} }, operators.RateLimit(4000)).Name("gen")
	out := operators.Collect(actors.FromActor[keyed, tally](src, summerProps(false, nil)).Name("summer"))
	if res := r.Run(p); res.State != actors.JobFinished || res.Restarts != 1 {
		t.Fatalf("got %v, want finished after a restart", res)
	}
	testkit.AssertExactlyOnce(t, map[string][]int64{"gen": testkit.SeqRange(0, n)}, records(out.Values()), tallyID)
	for _, s := range out.Values() {
		if s.Summary && s.Count >= n {
			t.Fatalf("the summer counted %d records after a restart without WithState: its state should have been lost", s.Count)
		}
	}
}

// A savepoint that holds an actor's own state does not restore into an
// operator of that name without WithState: the state would be dropped
// silently, so the restore fails, naming the operator (as Flink refuses
// state it cannot map).
func TestFromActor_restoreStateIntoOperatorWithoutState(t *testing.T) {
	j := actorJob{name: "mismatch", n: 8000, par: 2, rate: 4000}
	r := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond))
	p1, _ := j.build(nil)
	job1 := r.Start(p1)
	testkit.Eventually(t, 10*time.Second, func() bool { _, ok := job1.LatestCheckpoint(); return ok }, "a complete checkpoint")
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(20*time.Second))
	defer cancel()
	path, err := job1.StopWithSavepoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p2 := operators.NewPipeline(j.name).SetParallelism(j.par)
	src := operators.Generate(p2, j.n, func(i int64) keyed { return keyed{Seq: i} }).Name("gen").Parallelism(1)
	operators.Discard(actors.FromActor[keyed, tally](src.Rebalance(), summerProps(false, nil)).Name("summer"))
	res := r.Wait(r.Start(p2, actors.RestoreFrom(path)))
	if res.State != actors.JobFailed || !errors.Is(res.Err, operators.ErrRestore) || !strings.Contains(res.Err.Error(), "summer") {
		t.Fatalf("got %v; want a failed restore naming summer", res)
	}
}

// lateSnapshots answers every message but Snapshots after EndOfInput:
// the first it answers after a delay (slow, but within the reply
// timeout), the others never.
type lateSnapshots struct {
	ended    bool
	answered int // Snapshots after EndOfInput
	delay    time.Duration
}

func (s *lateSnapshots) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actors.Input[int]:
		ctx.Respond(&actors.Output[int]{})
	case *actors.EndOfInput:
		s.ended = true
		ctx.Respond(&actors.Output[int]{})
	case *actors.Snapshot:
		switch {
		case !s.ended:
			ctx.Respond(&actors.State{})
		case s.answered == 0:
			s.answered++
			root, to := ctx.ActorSystem().Root, ctx.Sender()
			time.AfterFunc(s.delay, func() { root.Send(to, &actors.State{}) })
		}
	}
}

// A subtask whose input has ended still asks its actor for a Snapshot at
// every checkpoint while the rest of the job runs. The reply timeout
// holds there too: an actor that does not answer fails the job, naming
// the Snapshot, instead of holding every checkpoint (and the job's end)
// until the checkpoint timeout — ten minutes by default — checkpoint
// after checkpoint. The actor's branch ends at once; the probe's keeps
// the job running. The first savepoint after the actor's end is answered
// late (so that whatever the subtask armed while it ran is done with),
// the second never.
func TestFromActor_replyTimeout_snapshotAfterEndOfInput(t *testing.T) {
	r := testkit.NewRunner(t, testkit.WithCheckpoints(time.Hour), testkit.WithRestart(actors.NoRestart()))
	timeout := testkit.Dilated(time.Second)
	p := operators.NewPipeline("silent-after-end")
	props := actor.PropsFromProducer(func() actor.Actor { return &lateSnapshots{delay: 200 * time.Millisecond} })
	ended := testkit.NewSinkProbe(t, actors.FromActor[int, int](operators.FromSlice(p, []int{1, 2, 3}), props,
		actors.WithState(actors.RoundRobin), actors.WithReplyTimeout(timeout)).Name("user-silent"))
	running, other := testkit.NewSourceProbe[int](t, p)
	operators.Discard(other)
	job := r.Start(p)
	ended.ExpectComplete() // the actor answered EndOfInput: its subtask finishes
	wait := 5 * timeout
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := job.Savepoint(ctx); err != nil {
		t.Fatalf("the first savepoint after the actor's end: %v", err)
	}
	if _, err := job.Savepoint(ctx); errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the second savepoint still waits for the finished subtask's actor after %v; its reply timeout (%v) should have failed it", wait, timeout)
	}
	running.SendComplete()
	res := r.Wait(job)
	var oe *operators.OperatorError
	if res.State != actors.JobFailed || !errors.Is(res.Err, actors.ErrReplyTimeout) || !errors.As(res.Err, &oe) ||
		oe.Operator != "user-silent" || !strings.Contains(res.Err.Error(), "Snapshot") {
		t.Fatalf("got %v; want the job failed by ErrReplyTimeout naming user-silent and its Snapshot", res)
	}
}

// procAfterEnd is a keyed actor that sets, for each key, a
// processing-time timer due procAfterEndDue later — from the event-time
// timers that the end of input's maximum watermark fires, so as its
// input ends: the subtask finishes long before they are due, and they
// never fire. It counts the processing-time timers that fire all the
// same. It answers Open after openDelay.
type procAfterEnd struct {
	scope     *operators.KeyedScope[int]
	openDelay time.Duration
	fired     *atomic.Int64
}

func (a *procAfterEnd) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Open[int]:
		a.scope = m.State
		root, to := ctx.ActorSystem().Root, ctx.Sender()
		time.AfterFunc(a.openDelay, func() { root.Send(to, &actors.Output[int]{}) })
	case *actors.KeyedInput[int, int]:
		for range m.All() {
			a.scope.RegisterEventTimer(1)
		}
		ctx.Respond(&actors.Output[int]{})
	case *actors.Timers[int]:
		for range m.All() {
			if m.Domain == operators.EventTime {
				// Due a second later: not while the end of input's
				// watermark is still being fired (a clock tick may come
				// between the watermark and the end, and fire a timer
				// due at once there, as Flink's mailbox may), but long
				// before the restored job opens (procAfterEndDelay).
				a.scope.RegisterProcessingTimer(a.scope.ProcessingTime().Add(procAfterEndDue))
			} else {
				a.fired.Add(1)
			}
		}
		ctx.Respond(&actors.Output[int]{})
	case *actors.EndOfInput:
		ctx.Respond(&actors.Output[int]{})
	}
}

// procAfterEndDue is how long after the final watermark procAfterEnd's
// processing-time timers are due; procAfterEndDelay how late the restored
// one answers Open, past them.
const procAfterEndDue, procAfterEndDelay = time.Second, 1500 * time.Millisecond

// procAfterEndJob is the keyed actor over an input that ends at once,
// beside a source probe that keeps the job running.
func procAfterEndJob(t *testing.T, openDelay time.Duration, fired *atomic.Int64) (*operators.Pipeline, *testkit.SinkProbe[int], *testkit.SourceProbe[int]) {
	p := operators.NewPipeline("proc-after-end")
	props := actor.PropsFromProducer(func() actor.Actor { return &procAfterEnd{openDelay: openDelay, fired: fired} })
	ks := operators.KeyBy(operators.FromSlice(p, []int{1, 2, 3}), func(v int) int { return v })
	ended := testkit.NewSinkProbe(t, actors.FromKeyedActor[int, int, int](ks, props).Name("proc-after-end"))
	running, other := testkit.NewSourceProbe[int](t, p)
	operators.Discard(other)
	return p, ended, running
}

// Processing-time timers do not fire once a keyed actor's input has
// ended, and a subtask restored from a savepoint taken after its end has
// ended too: the due timers it restores (kept in its state, as Flink
// keeps them) must not fire there either. The restored actor answers
// Open late, so that the subtask's clock has long passed them while it
// waits for its first checkpoint's state.
func TestFromKeyedActor_restoredEnded_firesNoProcessingTimers(t *testing.T) {
	r := testkit.NewRunner(t, testkit.WithCheckpoints(time.Hour), testkit.WithRestart(actors.NoRestart()))
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(10*time.Second))
	defer cancel()
	var fired atomic.Int64

	p1, ended, _ := procAfterEndJob(t, 0, &fired)
	job1 := r.Start(p1)
	ended.ExpectComplete() // the actor's input ended, its timers set
	path, err := job1.Savepoint(ctx)
	if err != nil {
		t.Fatalf("savepoint after the actor's end: %v", err)
	}
	job1.Cancel()
	if n := fired.Load(); n != 0 {
		t.Fatalf("%d processing-time timers fired after the end of input in the first job", n)
	}

	p2, ended2, running := procAfterEndJob(t, procAfterEndDelay, &fired)
	job2 := r.Start(p2, actors.RestoreFrom(path))
	ended2.Request(1 << 20) // the probe restored ended takes the barriers
	if _, err := job2.Savepoint(ctx); err != nil {
		t.Fatalf("savepoint of the job restored ended: %v", err)
	}
	running.SendComplete()
	if res := r.Wait(job2); res.State != actors.JobFinished {
		t.Fatalf("the restored job: %v", res)
	}
	if n := fired.Load(); n != 0 {
		t.Fatalf("%d processing-time timers fired in the keyed actor restored ended; want none", n)
	}
}

// slowWatermarks passes records through and answers Watermark after a
// delay of its own (answering every other message at once), telling
// answered when it has.
type slowWatermarks struct {
	delay    time.Duration
	answered chan<- struct{}
}

func (s slowWatermarks) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Input[int]:
		out := make([]operators.Element[int], len(m.Records))
		for i, r := range m.Records {
			out[i] = operators.Element[int]{Value: r.Value, Timestamp: r.Timestamp}
		}
		ctx.Respond(&actors.Output[int]{Records: out})
	case *actors.Watermark:
		root, to := ctx.ActorSystem().Root, ctx.Sender()
		time.AfterFunc(s.delay, func() {
			root.Send(to, &actors.Output[int]{})
			s.answered <- struct{}{}
		})
	case *actors.EndOfInput:
		ctx.Respond(&actors.Output[int]{})
	}
}

// A subtask restored from a savepoint taken after its end finishes only
// once its actor has answered what it was sent on the way (here the
// input's maximum watermark, which comes again with the restored end of
// input). Finished earlier, it dropped the late answer as a stray reply,
// and every later checkpoint waited behind it for ever — or, with the
// reply timeout, failed the job for a message that was answered. The
// savepoint is taken once the answer has been sent.
func TestFromActor_restoredEnded_finishesAfterItsReplies(t *testing.T) {
	r := testkit.NewRunner(t, testkit.WithCheckpoints(time.Hour), testkit.WithRestart(actors.NoRestart()))
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(10*time.Second))
	defer cancel()
	answered := make(chan struct{}, 8)
	build := func(delay time.Duration) (*operators.Pipeline, *testkit.SinkProbe[int], *testkit.SourceProbe[int]) {
		p := operators.NewPipeline("restored-ended")
		props := actor.PropsFromProducer(func() actor.Actor { return slowWatermarks{delay: delay, answered: answered} })
		ended := testkit.NewSinkProbe(t, actors.FromActor[int, int](operators.FromSlice(p, []int{1, 2, 3}), props,
			actors.WithWatermarks(), actors.WithReplyTimeout(testkit.Dilated(2*time.Second))).Name("slow-watermarks"))
		running, other := testkit.NewSourceProbe[int](t, p)
		operators.Discard(other)
		return p, ended, running
	}

	p1, ended, _ := build(0)
	job1 := r.Start(p1)
	ended.Request(3)
	ended.ExpectNextN(3)
	ended.ExpectComplete()
	path, err := job1.Savepoint(ctx)
	if err != nil {
		t.Fatalf("savepoint after the actor's end: %v", err)
	}
	job1.Cancel()

	p2, ended2, running := build(200 * time.Millisecond)
	ended2.Request(1 << 20) // the probe restored ended takes the barriers
	job2 := r.Start(p2, actors.RestoreFrom(path))
	for range 2 { // the first job's watermark, then the restored one's
		select {
		case <-answered:
		case <-ctx.Done():
			t.Fatal("the actor was not sent the restored end's watermark")
		}
	}
	if _, err := job2.Savepoint(ctx); err != nil {
		t.Fatalf("savepoint of the job restored ended: %v (the job's failure: %v)", err, job2.Failure())
	}
	running.SendComplete()
	if res := r.Wait(job2); res.State != actors.JobFinished {
		t.Fatalf("the restored job: %v", res)
	}
}

// unionRecorder passes records through; its state is one entry of its
// own, and it records how many entries each Restore brings.
type unionRecorder struct {
	id       string
	restored *restoreLog
}

type restoreLog struct {
	mu     sync.Mutex
	counts []int
}

func (u *unionRecorder) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Restore:
		u.restored.mu.Lock()
		u.restored.counts = append(u.restored.counts, len(m.Entries))
		u.restored.mu.Unlock()
		ctx.Respond(&actors.Output[keyed]{})
	case *actors.Input[keyed]:
		ctx.Respond(&actors.Output[keyed]{Records: m.Records})
	case *actors.Snapshot:
		ctx.Respond(&actors.State{Entries: [][]byte{[]byte(u.id)}})
	case *actors.EndOfInput:
		ctx.Respond(&actors.Output[keyed]{})
	}
}

// Union gives every subtask all the entries of all the old ones also at
// an unchanged parallelism, as Flink's union list state does (the docs
// said each got back its own: an actor keeping them all would have
// counted the other subtask's state as its own).
func TestFromActor_union_unchangedParallelism_everySubtaskGetsAll(t *testing.T) {
	const n = 3000
	var ids atomic.Int64
	log := &restoreLog{}
	props := actor.PropsFromProducer(func() actor.Actor {
		return &unionRecorder{id: fmt.Sprint(ids.Add(1)), restored: log}
	})
	r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond))
	r.Faults().FailAt("recorder", testkit.AtRecord(n/4), testkit.InSubtask(1))
	p := operators.NewPipeline("union-unchanged").SetParallelism(2)
	src := operators.Generate(p, n, func(i int64) keyed { return keyed{Seq: i} }, operators.RateLimit(6000)).Name("gen").Parallelism(1)
	out := operators.Collect(actors.FromActor[keyed, keyed](src.Rebalance(), props, actors.WithState(actors.Union)).Name("recorder"))
	if res := r.Run(p); res.State != actors.JobFinished || res.Restarts != 1 {
		t.Fatalf("got %v, want finished after a restart", res)
	}
	testkit.AssertExactlyOnce(t, map[string][]int64{"gen": testkit.SeqRange(0, n)}, out.Values(),
		func(k keyed) testkit.RecordID { return testkit.RecordID{Source: "gen", Seq: k.Seq} })
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.counts) != 2 || log.counts[0] != 2 || log.counts[1] != 2 {
		t.Fatalf("the restored subtasks got %v entries; want 2 each (both subtasks' one)", log.counts)
	}
}

// stopsAtEnd passes records through and stops itself once it has
// answered EndOfInput, though its operator keeps its state (WithState).
type stopsAtEnd struct{}

func (stopsAtEnd) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Input[int]:
		ctx.Respond(&actors.Output[int]{Records: m.Records})
	case *actors.Snapshot:
		ctx.Respond(&actors.State{})
	case *actors.EndOfInput:
		ctx.Respond(&actors.Output[int]{})
		ctx.Stop(ctx.Self())
	}
}

// An actor that stops when it has answered everything fails its subtask
// when the subtask next has a message for it — a finished subtask's
// Snapshot here — at once, naming the message, instead of leaving the
// checkpoint waiting for it.
func TestFromActor_actorStoppedAfterEnd_failsAtTheNextSnapshot(t *testing.T) {
	r := testkit.NewRunner(t, testkit.WithCheckpoints(time.Hour), testkit.WithRestart(actors.NoRestart()))
	p := operators.NewPipeline("stops-at-end")
	props := actor.PropsFromProducer(func() actor.Actor { return stopsAtEnd{} })
	ended := testkit.NewSinkProbe(t, actors.FromActor[int, int](operators.FromSlice(p, []int{1, 2, 3}), props,
		actors.WithState(actors.RoundRobin)).Name("stops-at-end"))
	running, other := testkit.NewSourceProbe[int](t, p)
	operators.Discard(other)
	job := r.Start(p)
	ended.Request(3)
	ended.ExpectNextN(3)
	ended.ExpectComplete()
	wait := testkit.Dilated(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := job.Savepoint(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("savepoint: %v; want it failed at once by the stopped actor (not after %v)", err, wait)
	}
	running.SendComplete()
	res := r.Wait(job)
	if res.State != actors.JobFailed || !errors.Is(res.Err, actors.ErrActorStopped) || !strings.Contains(res.Err.Error(), "Snapshot") {
		t.Fatalf("got %v; want the job failed by ErrActorStopped naming the Snapshot", res)
	}
}
