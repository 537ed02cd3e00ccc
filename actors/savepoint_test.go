package actors

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// rescalePipeline counts per key with the counter at parallelism par; the
// source and the sink keep parallelism 2 (their positions and pending
// output are what a rescale of the counter must not disturb).
func rescalePipeline(n, keys int64, par int, into *operators.Collected[counted]) (*operators.Pipeline, *operators.Collected[counted]) {
	p := operators.NewPipeline("rescale").SetParallelism(2)
	src := operators.Generate(p, n, func(i int64) event { return event{Key: i % keys, Seq: i} }, operators.RateLimit(8000))
	ks := operators.KeyBy(src, func(e event) int64 { return e.Key })
	out := operators.ProcessKeyed(ks, countEvent).Name("count").Parallelism(par)
	if into == nil {
		return p, operators.Collect(out)
	}
	return p, operators.CollectTo(out, into)
}

// TestSavepoint_stopAndRescale stops a keyed count at parallelism 4 with a
// savepoint and resumes it at 2 and at 6: across both jobs every
// (key, count) is committed exactly once.
func TestSavepoint_stopAndRescale(t *testing.T) {
	const n, keys = 16000, 53
	for _, par := range []int{2, 6} {
		t.Run(fmt.Sprintf("4to%d", par), func(t *testing.T) {
			e := newTestEngine(t, func(c *Config) {
				c.Checkpoint.Interval = 20 * time.Millisecond
				c.BatchSize = 64
			})
			p1, sink := rescalePipeline(n, keys, 4, nil)
			j1 := submit(t, e, p1)
			eventually(t, 20*time.Second, func() bool { _, ok := j1.LatestCheckpoint(); return ok }, "a complete checkpoint")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			path, err := j1.StopWithSavepoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			before := len(sink.Values())
			if before == 0 || before >= n {
				t.Fatalf("the first job committed %d of %d records: the savepoint should fall mid-stream", before, n)
			}
			p2, _ := rescalePipeline(n, keys, par, sink)
			j2 := submit(t, e, p2, RestoreFrom(path))
			if err := j2.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			checkCounts(t, sink.Values(), n, keys)
		})
	}
}
