package actors

import (
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// BenchmarkCheckpoint_backpressure measures how long a checkpoint takes
// under heavy backpressure, aligned and unaligned in the same run: an
// unbounded generator (parallelism 2) → keyBy → a keyed count (2) →
// keyBy → a sink (2) that spends about backpressureSpin of CPU per record,
// far slower than the source, so that every channel's credit window is
// full. Each op is one checkpoint; ms/checkpoint is the median duration
// (trigger to metadata durable) of the b.N checkpoints, p90-ms their 90th
// percentile, inflight-KiB the median in-flight data an unaligned one
// persisted. Run with a fixed count, for example
//
//	go test -run XXX -bench Checkpoint_backpressure -benchtime 20x ./actors/
func BenchmarkCheckpoint_backpressure(b *testing.B) {
	b.Run("aligned", func(b *testing.B) { benchBackpressure(b, func(*CheckpointConfig) {}) })
	b.Run("unaligned", func(b *testing.B) { benchBackpressure(b, func(c *CheckpointConfig) { c.Unaligned = true }) })
}

// backpressureSpin is the sink's work per record, in spin iterations
// (about 0.2 ms here).
const backpressureSpin = 60_000

func benchBackpressure(b *testing.B, mod func(*CheckpointConfig)) {
	e := newTestEngine(b, func(c *Config) {
		c.BatchSize, c.Credits = 256, 4
		c.Checkpoint.Interval = time.Millisecond // the next begins as soon as one ends
		c.Checkpoint.Timeout = 5 * time.Minute
		mod(&c.Checkpoint)
	})
	job := submit(b, e, backpressurePipeline())
	defer job.Cancel()
	// Warm up: backpressure builds within the first checkpoints.
	first := waitCompleted(b, job, 0, 3)
	b.ResetTimer()
	done := waitCompleted(b, job, first[len(first)-1].ID, b.N)
	b.StopTimer()
	durations := make([]float64, len(done))
	inflight := make([]float64, len(done))
	for i, s := range done {
		durations[i] = float64(s.Duration) / float64(time.Millisecond)
		inflight[i] = float64(s.InFlight) / 1024
	}
	slices.Sort(durations)
	slices.Sort(inflight)
	b.ReportMetric(durations[len(durations)/2], "ms/checkpoint")
	b.ReportMetric(durations[len(durations)*9/10], "p90-ms")
	b.ReportMetric(inflight[len(inflight)/2], "inflight-KiB")
	b.ReportMetric(0, "ns/op") // an op is a checkpoint, timed by its stats
}

// backpressurePipeline is the benchmark's job.
func backpressurePipeline() *operators.Pipeline {
	p := operators.NewPipeline("backpressure-checkpoints").SetParallelism(2)
	src := operators.Generate(p, -1, func(i int64) event { return event{Key: i % 97, Seq: i} })
	counts := operators.ProcessKeyed(operators.KeyBy(src, func(e event) int64 { return e.Key }), countEvent)
	slow := operators.ProcessKeyed(operators.KeyBy(counts, func(c counted) int64 { return c.Key }),
		func(_ *operators.KeyedContext[int64], c counted, out operators.Collector[counted]) error {
			x := uint64(c.Count)
			for i := range backpressureSpin {
				x = x*31 + uint64(i)
			}
			c.Count += int64(x & 1) // keeps the loop
			out.Collect(c, operators.NoTimestamp)
			return nil
		})
	operators.Discard(slow)
	return p
}

// waitCompleted polls j's checkpoint history until n checkpoints with an
// ID above after have completed, and returns their stats, oldest first.
func waitCompleted(b *testing.B, j *Job, after int64, n int) []CheckpointStats {
	seen := map[int64]CheckpointStats{}
	deadline := time.Now().Add(10 * time.Minute)
	for len(seen) < n {
		if time.Now().After(deadline) || (j.State() != JobRunning && j.State() != JobCreated) {
			b.Fatalf("%d of %d checkpoints completed; job %v", len(seen), n, j.State())
		}
		for _, s := range j.Checkpoints().History {
			if s.ID > after && s.Status == CheckpointCompleted {
				seen[s.ID] = s
			}
		}
		time.Sleep(time.Millisecond) // polling the stats; not a wait for an event
	}
	out := make([]CheckpointStats, 0, len(seen))
	for _, s := range seen {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b CheckpointStats) int { return int(a.ID - b.ID) })
	return out[:n]
}
