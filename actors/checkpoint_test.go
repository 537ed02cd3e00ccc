package actors

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

type event struct {
	Key int64 `json:"key"`
	Seq int64 `json:"seq"`
}

type counted struct {
	Key   int64 `json:"key"`
	Count int64 `json:"count"`
}

// countPipeline counts records per key at parallelism 4; the counter is
// named "count" for fault injection.
func countPipeline(n int64, keys int64, rate float64) (*operators.Pipeline, *operators.Collected[counted]) {
	p := operators.NewPipeline("count").SetParallelism(4)
	src := operators.Generate(p, n, func(i int64) event { return event{Key: i % keys, Seq: i} }, operators.RateLimit(rate))
	ks := operators.KeyBy(src, func(e event) int64 { return e.Key })
	out := operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[int64, int64], e event, out operators.Collector[counted]) error {
		c, _ := ctx.State().Value()
		ctx.State().Update(c + 1)
		out.Collect(counted{Key: e.Key, Count: c + 1}, operators.NoTimestamp)
		return nil
	}).Name("count")
	return p, operators.Collect(out).Parallelism(2)
}

// faultAfterCheckpoint panics in operator op at its next record once the
// job has completed a checkpoint and processed at least `after` records,
// in the first attempt only.
type faultAfterCheckpoint struct {
	job     atomic.Pointer[Job]
	op      string
	after   int64
	seen    atomic.Int64
	fired   atomic.Bool
	attempt atomic.Int64
}

func (f *faultAfterCheckpoint) BeforeRecord(op operators.TaskInfo) {
	if op.Operator != f.op || op.Attempt != 1 || f.fired.Load() {
		return
	}
	if f.seen.Add(1) < f.after {
		return
	}
	if j := f.job.Load(); j != nil {
		if _, ok := j.LatestCheckpoint(); ok && f.fired.CompareAndSwap(false, true) {
			panic(fmt.Sprintf("injected fault in %s subtask %d", op.Operator, op.Subtask))
		}
	}
}

func checkCounts(t *testing.T, got []counted, n, keys int64) {
	t.Helper()
	seen := map[counted]int{}
	for _, c := range got {
		seen[c]++
	}
	for k := range keys {
		per := n / keys
		if k < n%keys {
			per++
		}
		for c := int64(1); c <= per; c++ {
			if m := seen[counted{Key: k, Count: c}]; m != 1 {
				t.Fatalf("key %d count %d committed %d times", k, c, m)
			}
		}
	}
	if int64(len(got)) != n {
		t.Fatalf("committed %d records, want %d", len(got), n)
	}
}

func TestCheckpoint_failureInMap_exactlyOnce(t *testing.T) {
	const n, keys = 60000, 97
	fault := &faultAfterCheckpoint{op: "count", after: n / 8}
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Restart = FixedDelay(3, time.Millisecond)
		c.Faults = fault
		c.BatchSize = 64
	})
	p, sink := countPipeline(n, keys, 10000) // 4 subtasks × 10k/s: ~1.5 s
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	job, err := e.Submit(g)
	if err != nil {
		t.Fatal(err)
	}
	fault.job.Store(job)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := job.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if !fault.fired.Load() || job.Restarts() != 1 {
		t.Fatalf("fault fired %v, restarts %d: want a failure after a checkpoint and one restart", fault.fired.Load(), job.Restarts())
	}
	checkCounts(t, sink.Values(), n, keys)
}
