package actors_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// Exactly-once on the batch path (operators/batch_path.go), on an engine
// without a fault injector (a Runner's fault taps take runs too; see
// testkit's TestRunner_batchPath_faultsMidRun_exactlyOnce): the failure is a panic of
// the job's own function, armed once a checkpoint with in-flight data
// has completed. Every chain takes runs of int64: the generator and a
// map into a hash edge, a keyed reduce and a slow map into another, and
// a keyed reduce and the collecting sink. Unaligned checkpoints every few
// milliseconds store held input (Chain.HeldInput) and held polls
// (Chain.HeldSource: the failure in the source's chain waits for a
// checkpoint that holds one); aligned ones wait for them. The output is
// exactly once and in order per key and source subtask.
func TestBatchPath_unalignedFailures_exactlyOnce(t *testing.T) {
	const n, keys, par = 10000, 11, 2
	for _, c := range []struct {
		failIn  string
		aligned bool
	}{{"map", false}, {"slow", false}, {"pre-sink", false}, {"map", true}, {"slow", true}} {
		failIn := c.failIn
		t.Run(fmt.Sprintf("%s aligned=%v", failIn, c.aligned), func(t *testing.T) {
			var when replayable
			when.fromPoll = failIn == "map" && !c.aligned
			var restarts atomic.Int32
			aligned := c.aligned
			e, err := actors.NewEngine(batchPathConfig(t, func(c *actors.Config) {
				c.Checkpoint.Unaligned = !aligned
				c.OnRestart = when.restarted(func(actors.RestartInfo) { restarts.Add(1) })
			}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Close() })
			var fired atomic.Bool
			fail := func(name string) func(int64) int64 {
				return func(v int64) int64 {
					if name == failIn && !fired.Load() && when.readyFromJob(aligned) && fired.CompareAndSwap(false, true) {
						panic(fmt.Sprintf("%s fails at %d", name, v))
					}
					return v
				}
			}
			p := operators.NewPipeline("batch-path-eo-" + failIn).SetParallelism(par)
			src := operators.Generate(p, n, func(seq int64) int64 { return seq }).Name("gen")
			mapped := operators.Map(src, fail("map")).Name("map")
			reduced := operators.Reduce(operators.KeyBy(mapped, func(v int64) int64 { return v % keys }),
				func(_, v int64) int64 { return v }).Name("reduce")
			slowFail := fail("slow")
			slow := operators.Map(reduced, func(v int64) int64 {
				spinSink.Add(spinFor(20000))
				return slowFail(v)
			}).Name("slow")
			preFail := fail("pre-sink")
			pre := operators.Reduce(operators.KeyBy(slow, func(v int64) int64 { return v % keys }),
				func(_, v int64) int64 { return preFail(v) }).Name("pre-sink")
			out := operators.Collect(pre).Name("sink")
			g, err := p.Build()
			if err != nil {
				t.Fatal(err)
			}
			job, err := e.Submit(g)
			if err != nil {
				t.Fatal(err)
			}
			when.job.Store(job)
			ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(90*time.Second))
			defer cancel()
			if err := job.Wait(ctx); err != nil {
				t.Fatalf("job: %v", err)
			}
			if !fired.Load() || restarts.Load() != 1 {
				t.Fatalf("fault fired %v, %d restarts: want one", fired.Load(), restarts.Load())
			}
			sent := map[string][]int64{}
			for i := range int64(n) {
				src := fmt.Sprintf("gen/%d", i%par)
				sent[src] = append(sent[src], i)
			}
			testkit.AssertExactlyOnce(t, sent, out.Values(), func(v int64) testkit.RecordID {
				return testkit.RecordID{Source: fmt.Sprintf("gen/%d", v%par), Seq: v}
			}, testkit.InOrderBy(func(v int64) int64 { return v % keys }))
		})
	}
}

// batchPathConfig is unaligned checkpoints every 5ms, polls of 64,
// batches of 8 and 2 credits, restarts, and no fault injector (which would keep every chain
// off the batch path).
func batchPathConfig(t *testing.T, mod func(*actors.Config)) actors.Config {
	c := actors.DefaultConfig()
	c.Logger = actors.QuietLogger()
	unaligned(t, 5*time.Millisecond, 0)(&c)
	// polls and input batches of 64, output batches (and runs) of 8: a
	// poll overfills the output, and its source holds the rest
	c.BatchSize, c.BatchBytes = 64, 8*int(unsafe.Sizeof(operators.Element[int64]{}))
	c.Credits, c.BufferTimeout = 2, time.Millisecond
	c.Restart = actors.FixedDelay(3, 10*time.Millisecond)
	if mod != nil {
		mod(&c)
	}
	return c
}

// readyMu serialises readyFromJob.
var readyMu sync.Mutex

// readyFromJob is ready, safe to call from several subtasks at once;
// with aligned checkpoints, a completed checkpoint is enough (none holds
// in-flight data).
func (r *replayable) readyFromJob(aligned bool) bool {
	readyMu.Lock()
	defer readyMu.Unlock()
	if aligned {
		job := r.job.Load()
		if job == nil {
			return false
		}
		cp, found := job.LatestCheckpoint()
		return found && cp.ID > r.after.Load()
	}
	return r.ready()
}
