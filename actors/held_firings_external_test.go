package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

// Exactly once while operators hold output that waits for credit: a
// window operator whose watermarks each close 250 one-record windows,
// and async I/O whose results come back 200 at a time, both into
// batches of 16 with 2 credits, so that they stop between two firings
// or results and hold the rest (operators.outputHolder) while
// checkpoints, aligned and unaligned, are taken every few milliseconds.
// A fault in a record downstream restores from a checkpoint: every
// record must be committed exactly once.
func TestCheckpoint_heldFiringsAndResults_exactlyOnce(t *testing.T) {
	const n = 4000
	for _, op := range []struct {
		name  string
		build func(operators.Stream[int64]) operators.Stream[int64]
	}{
		{"window", func(src operators.Stream[int64]) operators.Stream[int64] {
			timed := operators.AssignTimestamps(src, operators.WatermarkStrategy[int64]{
				Strategy:  watermark.ForPunctuated(func(ts int64) (int64, bool) { return ts, ts%250 == 249 }),
				Timestamp: func(v int64, _ int64) int64 { return v },
			})
			return operators.ReduceWindow(operators.Window(operators.KeyBy(timed, func(v int64) int64 { return v }),
				window.Tumbling(time.Millisecond)), func(a, b int64) int64 { return a + b })
		}},
		{"async", func(src operators.Stream[int64]) operators.Stream[int64] {
			return operators.AsyncMap(src, func(_ context.Context, v int64) ([]int64, error) { return []int64{v}, nil },
				operators.AsyncConfig[int64, int64]{Capacity: 200})
		}},
	} {
		for _, mode := range []string{"aligned", "unaligned"} {
			t.Run(op.name+"/"+mode, func(t *testing.T) {
				opts := []testkit.RunnerOption{testkit.WithRunTimeout(90 * time.Second), testkit.WithCheckpoints(2 * time.Millisecond)}
				if mode == "unaligned" {
					opts = append(opts, testkit.WithConfig(unaligned(t, 2*time.Millisecond, 0)))
				}
				opts = append(opts, testkit.WithBatchSize(16), testkit.WithCredits(2))
				r := testkit.NewRunner(t, opts...)
				r.Faults().FailAt("fragile", testkit.AtRecord(n/3))
				p := operators.NewPipeline("held-" + op.name + "-" + mode)
				src := operators.Generate(p, n, func(seq int64) int64 { return seq }, operators.RateLimit(100000)).Name("gen")
				held := op.build(src).Name("held")
				fragile := operators.Map(held.Rebalance(), func(v int64) int64 {
					spinSink.Add(spinFor(2000))
					return v
				}).Name("fragile")
				out := operators.Collect(fragile)
				res := r.Run(p)
				if res.State != actors.JobFinished || res.Restarts != 1 || len(r.Faults().Fired()) != 1 {
					t.Fatalf("got %v with faults %v, want finished after 1 restart", res, r.Faults().Fired())
				}
				t.Logf("%v", res)
				sent := map[string][]int64{"gen": testkit.SeqRange(0, n)}
				testkit.AssertExactlyOnce(t, sent, out.Values(), func(v int64) testkit.RecordID {
					return testkit.RecordID{Source: "gen", Seq: v}
				})
			})
		}
	}
}
