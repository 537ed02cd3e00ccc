package nexmark

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
)

// BenchmarkNexmark runs each query on b.N generated events at parallelism
// 1 and 2, into a discarding sink, and reports events per second of wall
// time and per second of CPU time of the whole process (user + system,
// the generator, the engine and the garbage collector included): the
// events per second per core used. Run it with a fixed count, such as
//
//	go test -run '^$' -bench Nexmark -benchtime 2000000x ./examples/nexmark/
func BenchmarkNexmark(b *testing.B) {
	for _, q := range Queries() {
		for _, par := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/p%d", q, par), func(b *testing.B) { benchQuery(b, q, par) })
		}
	}
}

func benchQuery(b *testing.B, query string, parallelism int) {
	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	e, err := actors.NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	p, err := New(Config{Query: query, Events: int64(b.N), Output: Discard})
	if err != nil {
		b.Fatal(err)
	}
	p.SetParallelism(parallelism)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ResetTimer()
	cpu0, wall0 := cpuTime(b), time.Now()
	if err := e.Run(ctx, p); err != nil {
		b.Fatal(err)
	}
	cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/s/core")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
