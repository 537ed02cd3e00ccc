package actors

import (
	"context"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// Parameters of BenchmarkLatency_halfMaxThroughput.
const (
	latencyMaxRecords    = 5_000_000              // the unthrottled run that finds the maximum
	latencyRun           = 5 * time.Second        // the run at half of it
	latencyWarmUp        = 500 * time.Millisecond // its first records, not counted
	latencyBufferTimeout = time.Millisecond
)

// latRec is a record that carries the time its source made it, on the
// benchmark's monotonic clock.
type latRec struct{ Key, Value, Emitted int64 }

// BenchmarkLatency_halfMaxThroughput measures end-to-end latency, from the
// source making a record to the sink receiving it, with a 1 ms buffer
// timeout: source → map → keyBy → running sum → sink at parallelism 1
// (one channel between two subtasks). It first runs 5 M records
// unthrottled to find the maximum throughput, then runs for 5 s with the
// source rate-limited to half of it, and reports the latency percentiles
// of that run, its first 0.5 s left out, from a histogram the sink fills,
// with the garbage collections and bytes allocated per record during it,
// and the time the process's threads waited for a CPU (runq-ms: the
// machine's other work).
//
//	go test -run '^$' -bench Latency -benchtime 1x ./actors/
func BenchmarkLatency_halfMaxThroughput(b *testing.B) {
	for range b.N {
		maxRate := latencyMax(b)
		rate := maxRate / 2
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		waited := runQueueWait()
		h, achieved := latencyAt(b, rate)
		waited = runQueueWait() - waited
		runtime.ReadMemStats(&after)
		b.ReportMetric(maxRate, "max-rec/s")
		b.ReportMetric(achieved, "rec/s")
		// a full batch's fill time at the rate: the longest a record waits
		// in its source's batch before it is sent
		b.ReportMetric(float64(DefaultConfig().BatchSize)/rate*1e6, "fill-µs")
		b.ReportMetric(float64(after.NumGC-before.NumGC), "GCs")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(h.n), "B/rec")
		if waited >= 0 {
			b.ReportMetric(float64(waited)/1e6, "runq-ms")
		}
		for _, q := range []struct {
			name string
			q    float64
		}{{"p50", 0.5}, {"p99", 0.99}, {"p99.9", 0.999}, {"max", 1}} {
			b.ReportMetric(float64(h.quantile(q.q))/1e3, q.name+"-µs")
		}
	}
}

// latencyMax runs latencyMaxRecords unthrottled and returns the records
// per second.
func latencyMax(b *testing.B) float64 {
	start := time.Now()
	h := runLatency(b, latencyMaxRecords, 0, start)
	if h.n != latencyMaxRecords {
		b.Fatalf("sink saw %d records, want %d", h.n, latencyMaxRecords)
	}
	return latencyMaxRecords / time.Since(start).Seconds()
}

// latencyAt runs for latencyRun at rate records a second and returns the
// latencies after the warm-up and the rate achieved.
func latencyAt(b *testing.B, rate float64) (*latencyHist, float64) {
	n := int64(rate * latencyRun.Seconds())
	start := time.Now()
	h := runLatency(b, n, rate, start)
	achieved := float64(n) / time.Since(start).Seconds()
	if h.n == 0 {
		b.Fatal("no record after the warm-up")
	}
	return h, achieved
}

// runLatency runs the pipeline over n records (at rate a second, if
// positive) and returns the sink's histogram of the records made after
// start+latencyWarmUp.
func runLatency(b *testing.B, n int64, rate float64, start time.Time) *latencyHist {
	cfg := DefaultConfig()
	cfg.Logger = QuietLogger()
	cfg.BufferTimeout = latencyBufferTimeout
	e, err := NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var opts []operators.SourceOption
	warm := int64(0)
	if rate > 0 {
		opts = append(opts, operators.RateLimit(rate))
		warm = int64(latencyWarmUp)
	}
	p := operators.NewPipeline("latency")
	src := operators.Generate(p, n, func(i int64) latRec {
		return latRec{Key: i % 1000, Value: i, Emitted: int64(time.Since(start))}
	}, opts...)
	m := operators.Map(src, func(r latRec) latRec { r.Value = r.Value*3 + 1; return r })
	ks := operators.KeyBy(m, func(r latRec) int64 { return r.Key })
	sum := operators.Reduce(ks, func(acc, r latRec) latRec {
		acc.Value += r.Value
		acc.Emitted = r.Emitted
		return acc
	})
	h := &latencyHist{}
	operators.ToSink(sum, "latency", func(*operators.TaskContext) (operators.SinkWriter[latRec], error) {
		return latencySink{h: h, start: start, warm: warm}, nil
	})
	job := submit(b, e, p)
	if err := job.Wait(context.Background()); err != nil {
		b.Fatal(err)
	}
	return h
}

// runQueueWait returns the nanoseconds the process's threads have spent
// runnable but waiting for a CPU (Linux's schedstat): on a machine shared
// with other work, the part of the latency that is not ours. -1 where
// the kernel does not say.
func runQueueWait() int64 {
	paths, _ := filepath.Glob("/proc/self/task/*/schedstat")
	if len(paths) == 0 {
		return -1
	}
	var sum int64
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread has exited
		}
		if f := strings.Fields(string(b)); len(f) == 3 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			sum += n
		}
	}
	return sum
}

// latencySink records each record's latency; one sink subtask, so one
// writer.
type latencySink struct {
	h     *latencyHist
	start time.Time
	warm  int64
}

func (s latencySink) Write(r latRec, _ int64) error {
	if r.Emitted >= s.warm {
		s.h.record(int64(time.Since(s.start)) - r.Emitted)
	}
	return nil
}

// latencyHist is a log-linear histogram of nanoseconds: exact below 128,
// then 64 buckets per power of two (under 1.6 % error).
type latencyHist struct {
	counts [64 * 60]int64
	n      int64
}

func (h *latencyHist) record(ns int64) {
	h.counts[histBucket(max(ns, 0))]++
	h.n++
}

func histBucket(v int64) int {
	e := max(bits.Len64(uint64(v))-7, 0)
	return e*64 + int(v>>e)
}

// histUpper is the largest value in bucket i.
func histUpper(i int) int64 {
	if i < 128 {
		return int64(i)
	}
	e := i/64 - 1
	return int64(i-e*64)<<e + 1<<e - 1
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *latencyHist) quantile(q float64) int64 {
	rank := int64(q * float64(h.n))
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return histUpper(i)
		}
	}
	return 0
}

func (h *latencyHist) String() string {
	return fmt.Sprintf("n %d p50 %d p99 %d p99.9 %d", h.n, h.quantile(0.5), h.quantile(0.99), h.quantile(0.999))
}

// The histogram's buckets hold what they claim: every value lies within
// its bucket's bounds, bucket bounds are contiguous, and the error stays
// under 1.6 %.
func TestLatencyHist_buckets(t *testing.T) {
	for _, v := range []int64{0, 1, 63, 64, 127, 128, 129, 255, 256, 1000, 999_999, 1 << 40, 1<<62 + 12345} {
		i := histBucket(v)
		lo := int64(0)
		if i > 0 {
			lo = histUpper(i-1) + 1
		}
		if v < lo || v > histUpper(i) || float64(histUpper(i)-lo) > 0.016*float64(v)+1 {
			t.Errorf("value %d in bucket %d = [%d, %d]", v, i, lo, histUpper(i))
		}
	}
	h := &latencyHist{}
	for v := int64(1); v <= 1000; v++ {
		h.record(v * 1000)
	}
	if p50, p99 := h.quantile(0.5), h.quantile(0.99); p50 < 500_000 || p50 > 508_000 || p99 < 990_000 || p99 > 1_006_000 {
		t.Errorf("p50 %d, p99 %d of 1..1000 µs", p50, p99)
	}
}
