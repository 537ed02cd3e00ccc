package actors

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
)

// BenchmarkAsync measures one async subtask's throughput: with capacity
// 100 and a service of 5 ms the ceiling is C/L = 20 000 records/s, and
// "ratio" is the share of it reached; with an instant service ns/op is the
// operator's own cost per record (calls, replies, sequencing, channels).
//
//	go test -run '^$' -bench BenchmarkAsync -benchtime 40000x ./actors/
func BenchmarkAsync(b *testing.B) {
	const capacity, latency = 100, 5 * time.Millisecond
	for _, bc := range []struct {
		name    string
		mode    async.Mode
		latency time.Duration
	}{
		{"ordered/5ms", async.Ordered, latency},
		{"unordered/5ms", async.Unordered, latency},
		{"ordered/instant", async.Ordered, 0},
		{"unordered/instant", async.Unordered, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchAsync(b, bc.mode, bc.latency, capacity)
		})
	}
	// The baseline, in the same run: plain goroutines keeping capacity
	// calls of the same simulated service in flight. Its ratio shows what
	// this machine's timers allow; the operator's ratio is compared to it.
	b.Run("plain/5ms", func(b *testing.B) { benchPlain(b, latency, capacity) })
}

func benchPlain(b *testing.B, latency time.Duration, capacity int) {
	fn := simulatedService(latency)
	sem := make(chan struct{}, capacity)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = fn(context.Background(), i)
			<-sem
		}()
	}
	wg.Wait()
	rate := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(rate, "records/s")
	b.ReportMetric(rate/(float64(capacity)/latency.Seconds()), "ratio")
}

// simulatedService answers after latency (at once for 0).
func simulatedService(latency time.Duration) func(context.Context, int) ([]int, error) {
	return func(ctx context.Context, v int) ([]int, error) {
		if latency > 0 {
			t := time.NewTimer(latency)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return []int{v}, nil
	}
}

func benchAsync(b *testing.B, mode async.Mode, latency time.Duration, capacity int) {
	e := newTestEngine(b, func(c *Config) { c.BatchSize = 256 })
	fn := simulatedService(latency)
	p := operators.NewPipeline("bench")
	src := operators.FromSlice(p, seq(b.N)).Parallelism(1)
	out := operators.AsyncMap(src, fn, operators.AsyncConfig[int, int]{Mode: mode, Capacity: capacity})
	operators.Discard(out.Parallelism(1)).Parallelism(1)
	b.ResetTimer()
	start := time.Now()
	if err := runPipeline(b, e, p); err != nil {
		b.Fatal(err)
	}
	rate := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(rate, "records/s")
	if latency > 0 {
		b.ReportMetric(rate/(float64(capacity)/latency.Seconds()), "ratio")
	}
}
