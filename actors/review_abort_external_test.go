package actors_test

import (
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// snapshotHeldAfterEnd is a stateful actor that answers every message at
// once, except the first Snapshot after its end of input: that one it
// answers only once released, and it names its checkpoint on asked.
type snapshotHeldAfterEnd struct {
	ended, held bool
	asked       chan<- int64
	release     <-chan struct{}
	wg          *sync.WaitGroup
}

func (a *snapshotHeldAfterEnd) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Input[int]:
		ctx.Respond(&actors.Output[int]{})
	case *actors.EndOfInput:
		a.ended = true
		ctx.Respond(&actors.Output[int]{})
	case *actors.Snapshot:
		if !a.ended || a.held {
			ctx.Respond(&actors.State{})
			return
		}
		a.held = true
		a.asked <- m.Checkpoint
		root, to := ctx.ActorSystem().Root, ctx.Sender()
		a.wg.Go(func() {
			<-a.release
			root.Send(to, &actors.State{})
		})
	}
}

// A finished subtask of a stateful actor operator asks its actor for a
// Snapshot at every checkpoint. When the actor answers one only after
// that checkpoint timed out, the next trigger drops it (it was aborted)
// and the subtask waits for the newer one's state. The actor's answer
// to the dropped one must not hold the operator for ever: later
// checkpoints complete, and the job finishes.
func TestReviewAbort_droppedPreparedSnapshotDoesNotHoldActor(t *testing.T) {
	asked := make(chan int64, 1)
	release, wg, unhold := heldUntilReleased(t)
	r := testkit.NewRunner(t, testkit.WithRunTimeout(60*time.Second), testkit.WithRestart(actors.NoRestart()),
		abortingCheckpoints(5*time.Millisecond, 100*time.Millisecond))
	p := operators.NewPipeline("dropped-prepared")
	props := actor.PropsFromProducer(func() actor.Actor {
		return &snapshotHeldAfterEnd{asked: asked, release: release, wg: wg}
	})
	ended := testkit.NewSinkProbe(t, actors.FromActor[int, int](operators.FromSlice(p, []int{1, 2, 3}), props,
		actors.WithState(actors.RoundRobin)).Name("held-after-end"))
	running, other := testkit.NewSourceProbe[int](t, p)
	operators.Discard(other)
	job := r.Start(p)
	ended.ExpectComplete()
	var held int64
	select {
	case held = <-asked:
	case <-time.After(testkit.Dilated(30 * time.Second)):
		t.Fatal("the finished subtask never asked its actor for a Snapshot")
	}
	// Two newer checkpoints ended: the trigger of the first of them,
	// sent once the held one had timed out, dropped it at the subtask.
	testkit.Eventually(t, 30*time.Second, func() bool {
		return endedAfter(job, held+2)
	}, "checkpoint %d to end", held+2)
	unhold()
	testkit.Eventually(t, 30*time.Second, func() bool {
		return completedAfter(job, held)
	}, "a checkpoint after %d to complete once the actor answered the dropped one", held)
	running.SendComplete()
	if res := r.Wait(job); res.State != actors.JobFinished {
		t.Fatalf("%v: want finished", res)
	}
}

// endedAfter reports whether checkpoint id, or a newer one, has ended.
func endedAfter(job *actors.Job, id int64) bool {
	for _, c := range job.Checkpoints().History {
		if c.ID >= id {
			return true
		}
	}
	return false
}

// completedAfter reports whether a checkpoint newer than id completed.
func completedAfter(job *actors.Job, id int64) bool {
	l := job.Checkpoints().Latest
	return l != nil && l.ID > id
}

// A running subtask whose senders have all finished is triggered by the
// master (no barrier will come), and keeps the triggers while its
// operators end (an async call in flight at its end of input). A
// checkpoint that times out meanwhile has ended, as at a source holding
// its poll: once the operators have ended the subtask takes only those
// still pending, and no operator downstream is snapshotted for an
// aborted one.
func TestReviewAbort_subtaskTriggeredAfterItsSendersFinishedTakesNoAbortedCheckpoint(t *testing.T) {
	const n = 8
	hang := newFirstCallHangs(t)
	sink := &snapshotIDs{}
	r := testkit.NewRunner(t, testkit.WithRunTimeout(90*time.Second), abortingCheckpoints(5*time.Millisecond, 50*time.Millisecond))
	p := operators.NewPipeline("aborted-after-senders").SetParallelism(1)
	src := operators.FromSlice(p, testkit.SeqRange(0, n)).Name("slice")
	looked := operators.AsyncMap(src.Rebalance(), hang.call, operators.AsyncConfig[int64, int64]{Capacity: 2 * n}).Name("lookup")
	operators.ToSink(looked, "ids", func(*operators.TaskContext) (operators.SinkWriter[int64], error) { return sink, nil })
	job := r.Start(p)
	hang.waitStarted(t)
	aborted := waitAborted(t, job, 3, "three checkpoints to time out while the lookup's call hangs")
	hang.release()
	if res := r.Wait(job); res.State != actors.JobFinished {
		t.Fatalf("%v: want finished", res)
	}
	sink.assertSkipped(t, aborted, n)
}
