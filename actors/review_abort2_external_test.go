package actors_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// abortsAndCompletions counts the checkpoints of job's history that
// completed and those that did not.
func abortsAndCompletions(job *actors.Job) (completed, ended int) {
	for _, c := range job.Checkpoints().History {
		if c.Status == actors.CheckpointCompleted {
			completed++
		} else {
			ended++
		}
	}
	return completed, ended
}

// Exactly once while the master aborts most checkpoints and tells every
// subtask so (wire.CheckpointAborted): two generators into a union (a
// multi-input subtask that aligns), a keyed count, a slow keyed operator
// that keeps the channels full, an exactly-once sink. The checkpoint
// timeout is so short that many checkpoints time out while their
// barriers are aligned, recorded (unaligned) or still upstream, so abort
// notices reach subtasks in every state; a failure comes once a
// checkpoint has completed after some aborts, and every record is
// counted, aligned, unaligned and with an alignment timeout. It passes
// at 9ab8a33: no record was lost or duplicated by the abort notices.
func TestReviewAbort2_frequentAborts_exactlyOnce(t *testing.T) {
	const n, keys = 4000, 11
	for _, tc := range []struct {
		name      string
		unaligned bool
		align     time.Duration
		timeout   time.Duration
	}{
		// Timeouts long enough for a loaded machine to take a whole
		// checkpoint within one: with 25–40 ms, under load none
		// completed, the subtasks fell ever further behind the
		// triggers (acknowledging checkpoint 860 while the master was
		// at 1,550), and the job never ended, since it ends only once a
		// checkpoint completes after its input. Aborts still come: the
		// slow operator keeps the channels full.
		{"aligned", false, 0, 150 * time.Millisecond},
		{"unaligned", true, 0, 100 * time.Millisecond},
		{"alignment timeout", true, 3 * time.Millisecond, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := seeded(t)
			var job atomic.Pointer[actors.Job]
			ready := func() bool { // a checkpoint completed after some aborts
				j := job.Load()
				if j == nil {
					return false
				}
				c, a := abortsAndCompletions(j)
				return c >= 1 && a >= 1
			}
			r := testkit.NewRunner(t, testkit.WithRunTimeout(90*time.Second),
				testkit.WithConfig(unaligned(t, 2*time.Millisecond, tc.align)),
				testkit.WithConfig(func(c *actors.Config) {
					c.Checkpoint.Unaligned = tc.unaligned
					c.Checkpoint.Timeout = tc.timeout
					c.Checkpoint.TolerableFailures = 1 << 20
					// In memory: the job ends only once a checkpoint
					// completes after its input, and on a loaded machine
					// ten files written and synced took longer than these
					// timeouts every time, so none ever did (the job ran
					// on for ever, all its subtasks finished).
					c.Checkpoint.Store = nil
				}))
			at := 200 + rng.Int64N(n/2)
			r.Faults().FailAt("slow", testkit.AtRecord(at), testkit.InSubtask(1), testkit.When(ready))
			p := operators.NewPipeline("frequent-aborts-" + tc.name).SetParallelism(2)
			a := operators.Generate(p, n, func(seq int64) int64 { return seq }).Name("a")
			b := operators.Generate(p, n, func(seq int64) int64 { return n + seq }).Name("b")
			counted := operators.ProcessKeyed(operators.KeyBy(operators.Union(a, b), func(v int64) int64 { return v % keys }),
				func(ctx *operators.KeyedContext[int64], v int64, out operators.Collector[int64]) error {
					out.Collect(v, operators.NoTimestamp)
					return nil
				}).Name("count")
			slow := operators.ProcessKeyed(operators.KeyBy(counted, func(v int64) int64 { return v % keys }),
				func(_ *operators.KeyedContext[int64], v int64, out operators.Collector[int64]) error {
					spinSink.Add(spinFor(60000))
					out.Collect(v, operators.NoTimestamp)
					return nil
				}).Name("slow")
			out := operators.Collect(slow).Name("sink")
			j := r.Start(p)
			job.Store(j)
			res := r.Wait(j)
			c, ab := abortsAndCompletions(j)
			t.Logf("checkpoints in the history: %d completed, %d not; faults %+v", c, ab, r.Faults().Fired())
			// The fault waits for a completed checkpoint, which the
			// aborts may put off until the input is through: then the
			// run has no restart, and its output is checked all the same.
			if fired := len(r.Faults().Fired()); res.State != actors.JobFinished || res.Restarts != fired {
				t.Fatalf("%v, faults %+v: want finished after %d restarts", res, r.Faults().Fired(), fired)
			}
			testkit.AssertExactlyOnce(t, map[string][]int64{"a": testkit.SeqRange(0, n), "b": testkit.SeqRange(n, 2*n)}, out.Values(),
				func(v int64) testkit.RecordID {
					if v < n {
						return testkit.RecordID{Source: "a", Seq: v}
					}
					return testkit.RecordID{Source: "b", Seq: v}
				})
		})
	}
}
