package actors

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// A slow, unbounded source never fills a batch: its records must still
// reach the sink, pushed by the buffer timeout, and the source must keep to
// its rate.
func TestBufferTimeout_flushesPartialBatches(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.BatchSize, c.BufferTimeout = 1024, 5*time.Millisecond })
	p := operators.NewPipeline("trickle")
	const rate = 200
	src := operators.Generate(p, -1, func(i int64) int64 { return i }, operators.RateLimit(rate))
	ks := operators.KeyBy(src, func(v int64) int64 { return v % 3 })
	c := operators.Collect(operators.Reduce(ks, func(_, v int64) int64 { return v }).Parallelism(2))
	start := time.Now()
	job := submit(t, e, p)
	eventually(t, 10*time.Second, func() bool { return len(c.Values()) >= 20 }, "20 records through partly filled batches")
	elapsed := time.Since(start)
	job.Cancel()
	got := len(c.Values())
	// Upper bound only (a loaded machine may be slower, never faster): at
	// most one second's worth ahead of the rate, plus the first record.
	if limit := int(elapsed.Seconds()*rate) + 1; got > limit+1 {
		t.Fatalf("%d records in %v exceeds the rate limit of %d/s", got, elapsed, rate)
	}
}
