package actors

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
)

// Async I/O's results that come while the output waits for credit must
// wait in the operator, not in the output gate: the subtask stops
// emitting them between two records as it does a FlatMap's output, and
// emits the rest on credit. Here every call waits until the operator is
// at capacity (300 records in flight), so that 300 results come back at
// once into an output with 2 credits of 32-record batches: what waits
// for credit must stay within 2 batches, in ordered and unordered mode,
// and every record still reaches the sink exactly once.
func TestSubtask_asyncRepliesBoundedByCredits(t *testing.T) {
	const batch, credits, capacity, n = 32, 2, 300, 3000
	for _, mode := range []async.Mode{async.Ordered, async.Unordered} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newTestEngine(t, func(c *Config) { c.BatchSize, c.Credits = batch, credits })
			p := operators.NewPipeline("async-burst")
			src := operators.Generate(p, n, func(i int64) int { return int(i) })
			var started atomic.Int64
			full := make(chan struct{})
			res := operators.AsyncMap(src, func(ctx context.Context, v int) ([]int, error) {
				if started.Add(1) == capacity {
					close(full)
				}
				select {
				case <-full: // the operator is at capacity: reply all at once
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return []int{v}, nil
			}, operators.AsyncConfig[int, int]{Mode: mode, Capacity: capacity, Workers: capacity}).Name("async")
			sink := &busySink{}
			operators.ToSink(res.Rebalance(), "busy", func(*operators.TaskContext) (operators.SinkWriter[int], error) {
				return sink, nil
			})
			job := submit(t, e, p)
			if err := waitJob(t, job); err != nil {
				t.Fatal(err)
			}
			checkFanOut(t, sink.got, n, 1)
			checkOutputBound(t, job, int64(2*batch))
		})
	}
}
