package actors_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// A subtask that takes checkpoints at barriers is told when the master
// aborts one (Flink's notifyCheckpointAborted): an actor operator whose
// actor is busy with an Input queues each checkpoint's Snapshot behind
// it, and the checkpoints time out meanwhile. Told of each abort, the
// subtask drops the checkpoint, and the operator its queued Snapshot:
// the actor is sent no Snapshot of an aborted checkpoint once it
// answers, and later checkpoints complete. Before, every aborted one was
// snapshotted in turn.
func TestAbortedCheckpoint_subtaskAtBarriersIsToldAndSkipsIt(t *testing.T) {
	started := make(chan struct{})
	release, wg, unhold := heldUntilReleased(t)
	var mu sync.Mutex
	var snapshots []int64
	r := testkit.NewRunner(t, testkit.WithRunTimeout(60*time.Second), testkit.WithRestart(actors.NoRestart()),
		abortingCheckpoints(5*time.Millisecond, 50*time.Millisecond))
	p := operators.NewPipeline("told-of-aborts")
	props := actor.PropsFromProducer(func() actor.Actor {
		return &firstInputHeld{started: started, release: release, wg: wg, mu: &mu, snapshots: &snapshots}
	})
	src, in := testkit.NewSourceProbe[int64](t, p)
	operators.Discard(actors.FromActor[int64, int64](in, props, actors.WithState(actors.RoundRobin)).Name("held-input"))
	job := r.Start(p)
	src.SendNext(1, 1)
	select {
	case <-started:
	case <-time.After(testkit.Dilated(30 * time.Second)):
		t.Fatal("the actor never got its first Input")
	}
	aborted := waitAborted(t, job, 3, "three checkpoints to time out while the actor holds its Input")
	unhold()
	last := slices.Max(aborted)
	testkit.Eventually(t, 30*time.Second, func() bool { return completedAfter(job, last) },
		"a checkpoint after %d to complete once the actor answered its Input", last)
	src.SendComplete()
	if res := r.Wait(job); res.State != actors.JobFinished {
		t.Fatalf("%v: want finished", res)
	}
	mu.Lock()
	defer mu.Unlock()
	// The master records an abort, then sends its notice: the notice of
	// the last abort seen may reach the subtask after the actor's answer
	// (another sender), so only the earlier ones are sure to be in the
	// subtask's mailbox ahead of it (a local send enqueues at once).
	for _, id := range snapshots {
		if id < last && slices.Contains(aborted, id) {
			t.Errorf("the actor was sent a Snapshot of checkpoint %d, which had timed out (ended: %v; snapshots: %v)", id, aborted, snapshots)
		}
	}
}

// firstInputHeld is an actor that answers its first Input only once
// released, and every other message at once, passing records through;
// with snapshots, it notes the checkpoint of each Snapshot it is sent.
type firstInputHeld struct {
	held      bool
	started   chan<- struct{}
	release   <-chan struct{}
	wg        *sync.WaitGroup
	mu        *sync.Mutex
	snapshots *[]int64
}

func (a *firstInputHeld) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Input[int64]:
		out := &actors.Output[int64]{}
		for _, r := range m.Records {
			out.Records = append(out.Records, operators.Element[int64]{Value: r.Value, Timestamp: r.Timestamp})
		}
		if a.held {
			ctx.Respond(out)
			return
		}
		a.held = true
		close(a.started)
		root, to := ctx.ActorSystem().Root, ctx.Sender()
		a.wg.Go(func() {
			<-a.release
			root.Send(to, out)
		})
	case *actors.Snapshot:
		a.mu.Lock()
		*a.snapshots = append(*a.snapshots, m.Checkpoint)
		a.mu.Unlock()
		ctx.Respond(&actors.State{})
	case *actors.EndOfInput:
		ctx.Respond(&actors.Output[int64]{})
	}
}

// An aligned checkpoint blocks each input that delivered its barrier
// until the barrier has come on all. When the other input's barrier is
// stuck upstream (an actor holds its Input), the checkpoint times out,
// and the master's abort gives the alignment up: the blocked input takes
// records again while the other is still stuck. Before, it stayed
// blocked until the stuck barrier came, however long after the abort.
func TestAbortedCheckpoint_alignmentGivenUpUnblocksTheInput(t *testing.T) {
	started := make(chan struct{})
	release, wg, unhold := heldUntilReleased(t)
	sink := &snapshotIDs{}
	r := testkit.NewRunner(t, testkit.WithRunTimeout(60*time.Second), testkit.WithRestart(actors.NoRestart()),
		abortingCheckpoints(20*time.Millisecond, 100*time.Millisecond))
	p := operators.NewPipeline("alignment-given-up")
	fast, a := testkit.NewSourceProbe[int64](t, p)
	slow, b := testkit.NewSourceProbe[int64](t, p)
	props := actor.PropsFromProducer(func() actor.Actor {
		return &firstInputHeld{started: started, release: release, wg: wg}
	})
	held := actors.FromActor[int64, int64](b, props).Name("held")
	operators.ToSink(operators.Union(a, held), "values",
		func(*operators.TaskContext) (operators.SinkWriter[int64], error) { return sink, nil })
	job := r.Start(p)
	slow.SendNext(-1, 1)
	select {
	case <-started:
	case <-time.After(testkit.Dilated(30 * time.Second)):
		t.Fatal("the actor never got its first Input")
	}
	// A checkpoint's barrier from the fast input blocks it at the sink;
	// the one from the held actor never comes, and the checkpoint times
	// out.
	waitAborted(t, job, 1, "a checkpoint to time out while the actor holds its Input")
	fast.SendNext(7, 2)
	testkit.Eventually(t, 30*time.Second, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return slices.Contains(sink.values, 7)
	}, "the fast input's record to reach the sink while the other input's barrier is stuck")
	unhold()
	fast.SendComplete()
	slow.SendComplete()
	if res := r.Wait(job); res.State != actors.JobFinished {
		t.Fatalf("%v: want finished", res)
	}
}

// heldUntilReleased returns a channel that held actors wait on, the
// group of their waiting goroutines, and unhold, which closes the
// channel (once); the test's end unholds and waits for the goroutines.
func heldUntilReleased(t *testing.T) (release <-chan struct{}, wg *sync.WaitGroup, unhold func()) {
	ch := make(chan struct{})
	wg = &sync.WaitGroup{}
	unhold = sync.OnceFunc(func() { close(ch) })
	t.Cleanup(func() { unhold(); wg.Wait() })
	return ch, wg, unhold
}
