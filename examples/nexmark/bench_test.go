package nexmark

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
)

// BenchmarkNexmark runs each query on b.N generated events in one
// process, four ways one after the other: the hand-written baseline
// (handwritten_test.go) at the collector's defaults, the same with the
// collector paced as the engine's (it holds the engine's heap reserve,
// actors.DefaultHeapReserve, while it runs: "eqgc"), then the engine at
// parallelism 1 and 2, each into a discarding sink; and that three times
// (rounds), since one run of a fraction of a second on a shared machine
// can meet a burst of other work. It reports events per CPU second of the
// whole process (user + system: the generator, the engine and the garbage
// collector included) over all rounds for each (hand-ev/cpu-s,
// hand-eqgc-ev/cpu-s, p1-ev/cpu-s, p2-ev/cpu-s); the median over the
// rounds of the engine's figure as a ratio of the baseline's of the same
// round (the figures to read on a shared machine): p1-ratio and p2-ratio
// against the loop as its author would run it, p1-ratio-eqgc and
// p2-ratio-eqgc against it under the same collector pacing, which is
// what the engine's own code costs; events per second of wall time, and
// heap allocations per event. Run it with a fixed count, such as
//
//	go test -run '^$' -bench 'Nexmark$' -benchtime 2000000x ./examples/nexmark/
func BenchmarkNexmark(b *testing.B) {
	for _, q := range Queries() {
		b.Run(q, func(b *testing.B) { benchVsHandwritten(b, q) })
	}
}

// benchRounds is how many times BenchmarkNexmark measures each way.
const benchRounds = 3

func benchVsHandwritten(b *testing.B, query string) {
	g, err := NewGenerator(GeneratorConfig{})
	if err != nil {
		b.Fatal(err)
	}
	hand := handwrittens[query]
	reserve := benchEngineConfig(0).HeapReserve()
	var total [4]measured // hand, hand with the engine's heap reserve, p1, p2
	ratios := [2][]float64{}
	eqRatios := [2][]float64{}
	for range benchRounds {
		base := measure(b, func() { hand(g, int64(b.N), nil) })
		eq := withHeapReserve(reserve, func() measured { return measure(b, func() { hand(g, int64(b.N), nil) }) })
		round := []measured{base, eq, measureEngine(b, query, 1), measureEngine(b, query, 2)}
		for i, r := range round {
			total[i].cpu += r.cpu
			total[i].wall += r.wall
			total[i].allocs += r.allocs
			if i > 1 {
				ratios[i-2] = append(ratios[i-2], base.cpu.Seconds()/r.cpu.Seconds())
				eqRatios[i-2] = append(eqRatios[i-2], eq.cpu.Seconds()/r.cpu.Seconds())
			}
		}
	}
	b.StopTimer()
	events := float64(b.N) * benchRounds
	for i, name := range []string{"hand", "hand-eqgc", "p1", "p2"} {
		r := total[i]
		b.ReportMetric(events/r.cpu.Seconds(), name+"-ev/cpu-s")
		if i == 1 {
			continue
		}
		b.ReportMetric(events/r.wall.Seconds(), name+"-ev/s")
		b.ReportMetric(float64(r.allocs)/events, name+"-allocs/ev")
		if i > 1 {
			slices.Sort(ratios[i-2])
			b.ReportMetric(ratios[i-2][benchRounds/2], name+"-ratio")
			slices.Sort(eqRatios[i-2])
			b.ReportMetric(eqRatios[i-2][benchRounds/2], name+"-ratio-eqgc")
		}
	}
}

// withHeapReserve runs fn while the process holds a pointer-free
// allocation of size bytes, as it does while an engine that holds the
// heap reserve (actors.DefaultHeapReserve) runs: the hand-written
// baseline with the collector paced as the engine's is. The reserve is
// made before fn measures, as the engine's is made before its run.
func withHeapReserve(size int, fn func() measured) measured {
	reserve := make([]byte, size)
	defer runtime.KeepAlive(reserve)
	return fn()
}

// BenchmarkNexmarkScaling runs q0, q1, q2 and q5 on the engine at
// parallelism 1, 2 and 4 in one process and reports events per second of
// wall time of each and the speed-up over parallelism 1 (p2-speedup,
// p4-speedup): how well the engine uses the machine's cores. On a machine
// shared with other work the wall-clock figures say as much about the
// other work as about the engine, so it also reports, per run, the cores
// the process used (CPU time over wall time) and the cores it asked for
// (pN-demand: CPU time plus the time its threads were runnable but
// waiting for a CPU, over wall time): a run that asks for two cores
// would use two on an idle machine.
//
// Each query runs twice: without a memory budget (no-budget: the Go
// runtime's GOGC) and as a node with --memory 512MiB runs it (512MiB:
// the soft limit, and DefaultGCPercent unless GOGC is set).
//
// For q0, q1 and q2, which need no state, it also reports what this
// machine gives plain Go (hand-p2-speedup): the hand-written query in one
// goroutine against two goroutines that share the events, under the
// same collector settings as the engine's runs: the most an engine can
// expect from the second core here.
//
//	go test -run '^$' -bench NexmarkScaling -benchtime 4000000x ./examples/nexmark/
func BenchmarkNexmarkScaling(b *testing.B) {
	for _, q := range []string{"q0", "q1", "q2", "q5"} {
		for _, memory := range []int64{0, 512 << 20} {
			name := q + "/no-budget"
			if memory > 0 {
				name = fmt.Sprintf("%s/%dMiB", q, memory>>20)
			}
			b.Run(name, func(b *testing.B) { benchScaling(b, q, memory) })
		}
	}
}

// benchScaling is one query of BenchmarkNexmarkScaling.
func benchScaling(b *testing.B, q string, memory int64) {
	if q != "q5" {
		b.ReportMetric(handSpeedup(b, q, memory), "hand-p2-speedup")
	}
	var p1 measured
	for _, par := range []int{1, 2, 4} {
		r := measureEngineWith(b, q, par, memory)
		name := fmt.Sprintf("p%d", par)
		b.ReportMetric(float64(b.N)/r.wall.Seconds(), name+"-ev/s")
		b.ReportMetric(r.cpu.Seconds()/r.wall.Seconds(), name+"-cores")
		if r.runq >= 0 {
			b.ReportMetric((r.cpu+r.runq).Seconds()/r.wall.Seconds(), name+"-demand")
		}
		if par == 1 {
			p1 = r
		} else {
			b.ReportMetric(p1.wall.Seconds()/r.wall.Seconds(), name+"-speedup")
		}
	}
}

// handSpeedup is the wall-time speed-up of the hand-written stateless
// query q in two goroutines over one, each on b.N events, with the
// collector set as an engine with the budget memory sets it.
func handSpeedup(b *testing.B, q string, memory int64) float64 {
	e, err := actors.NewEngine(benchEngineConfig(memory)) // for its GOGC and soft limit only
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	g, err := NewGenerator(DefaultGeneratorConfig())
	if err != nil {
		b.Fatal(err)
	}
	n := int64(b.N)
	one := measure(b, func() { handStateless(g, q, 0, 1, n) })
	two := measure(b, func() {
		var wg sync.WaitGroup
		for from := range int64(2) {
			wg.Go(func() { handStateless(g, q, from, 2, n) })
		}
		wg.Wait()
	})
	return one.wall.Seconds() / two.wall.Seconds()
}

// handStateless runs the hand-written q0, q1 or q2 on events from,
// from+step, … below n, and counts the rows.
func handStateless(g *Generator, q string, from, step, n int64) int64 {
	switch q {
	case "q1":
		return handQ1Strided(g, from, step, n, nil)
	case "q2":
		return handQ2Strided(g, from, step, n, nil)
	}
	return handQ0Strided(g, from, step, n, nil)
}

// BenchmarkNexmarkEngine runs one query on the engine only, at
// parallelism 1 and 2: for profiles of the engine (-cpuprofile,
// -memprofile), which BenchmarkNexmark would mix with its baseline's.
//
//	go test -run '^$' -bench 'NexmarkEngine/q5/p1' -benchtime 4000000x -cpuprofile cpu.out ./examples/nexmark/
func BenchmarkNexmarkEngine(b *testing.B) {
	for _, q := range Queries() {
		for _, par := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/p%d", q, par), func(b *testing.B) {
				r := measureEngine(b, q, par)
				b.ReportMetric(float64(b.N)/r.cpu.Seconds(), "ev/cpu-s")
				b.ReportMetric(float64(r.allocs)/float64(b.N), "allocs/ev")
			})
		}
	}
}

// BenchmarkNexmarkCheckpoint measures what checkpoints cost the windowed
// queries, whose timers, window contents and sessions the heap backend
// writes into state only for a snapshot: each iteration runs the query
// at parallelism 1 on b.N events without checkpoints and with one every
// second (in memory), twice each, alternating which goes first; at full
// speed ("max") and at 500 000 events per second ("500k"). overhead-% is
// how much more CPU time the runs with checkpoints took in all;
// checkpoints/run how many each took; ckpt-ms the CPU time a checkpoint
// cost. Read ckpt-ms at the fixed rate to compare versions of the engine:
// a window operator holds the windows the watermark has not yet passed,
// and the watermark, periodic (every 200 ms), moves in steps of as many
// events as come in 200 ms, so the state a checkpoint copies at full
// speed grows with the speed.
//
//	go test -run '^$' -bench NexmarkCheckpoint -benchtime 4000000x ./examples/nexmark/
func BenchmarkNexmarkCheckpoint(b *testing.B) {
	for _, q := range []string{"q5", "q7", "q11"} {
		for _, rate := range []float64{0, 500_000} {
			name := "max"
			if rate > 0 {
				name = fmt.Sprintf("%.0fk", rate/1000)
			}
			b.Run(q+"/"+name, func(b *testing.B) { benchCheckpoint(b, q, rate) })
		}
	}
}

func benchCheckpoint(b *testing.B, query string, rate float64) {
	var none, every time.Duration
	var checkpoints int64
	for i := range 2 {
		for k := range 2 {
			if (i+k)%2 == 0 {
				r, _ := measureJob(b, query, 1, 0, rate)
				none += r.cpu
			} else {
				r, n := measureJob(b, query, 1, time.Second, rate)
				every += r.cpu
				checkpoints += n
			}
		}
	}
	b.ReportMetric(2*float64(b.N)/none.Seconds(), "none-ev/cpu-s")
	b.ReportMetric(2*float64(b.N)/every.Seconds(), "every1s-ev/cpu-s")
	b.ReportMetric(100*(every.Seconds()/none.Seconds()-1), "overhead-%")
	b.ReportMetric(float64(checkpoints)/2, "checkpoints/run")
	if checkpoints > 0 {
		b.ReportMetric(float64((every-none).Milliseconds())/float64(checkpoints), "ckpt-ms")
	}
}

// measureJob is measureEngine with checkpoints every interval (none for
// 0) and at most rate events per second (0: no limit); it also returns
// the id of the job's latest checkpoint, which counts them.
func measureJob(b *testing.B, query string, parallelism int, interval time.Duration, rate float64) (measured, int64) {
	cfg := benchEngineConfig(0)
	cfg.Checkpoint.Interval = interval
	e, err := actors.NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	p, err := New(Config{Query: query, Events: int64(b.N), Output: Discard, Rate: rate})
	if err != nil {
		b.Fatal(err)
	}
	p.SetParallelism(parallelism)
	g, err := p.Build()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var last int64
	r := measure(b, func() {
		job, err := e.Submit(g)
		if err != nil {
			b.Fatal(err)
		}
		if err := job.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		if c, ok := job.LatestCheckpoint(); ok {
			last = c.ID
		}
	})
	return r, last
}

// measured is what one run used: CPU time of the process, wall time and
// heap allocations.
type measured struct {
	cpu, wall time.Duration
	allocs    uint64
	runq      time.Duration // runnable, waiting for a CPU; -1 if unknown
}

// measure runs fn after a garbage collection, so that no run pays for the
// garbage of the one before.
func measure(b *testing.B, fn func()) measured {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	runq0 := runQueueWait()
	cpu0, wall0 := cpuTime(b), time.Now()
	fn()
	r := measured{cpu: cpuTime(b) - cpu0, wall: time.Since(wall0), runq: -1}
	if runq0 >= 0 {
		r.runq = runQueueWait() - runq0
	}
	runtime.ReadMemStats(&m1)
	r.allocs = m1.Mallocs - m0.Mallocs
	return r
}

// measureEngine runs a query on b.N events on a fresh engine, which is
// closed before it returns: no engine is alive while another run is
// measured.
func measureEngine(b *testing.B, query string, parallelism int) measured {
	return measureEngineWith(b, query, parallelism, 0)
}

// measureEngineWith is measureEngine on an engine with a memory budget
// (Config.Memory; 0: none).
func measureEngineWith(b *testing.B, query string, parallelism int, memory int64) measured {
	e, err := actors.NewEngine(benchEngineConfig(memory))
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
	return measure(b, func() {
		if err := e.Run(ctx, p); err != nil {
			b.Fatal(err)
		}
	})
}

// benchEngineConfig is the configuration of the engines the benchmarks
// run: the defaults, with a memory budget (Config.Memory; 0: none).
func benchEngineConfig(memory int64) actors.Config {
	cfg := actors.DefaultConfig()
	cfg.Logger, cfg.Memory = actors.QuietLogger(), memory
	return cfg
}

// runQueueWait returns how long the process's threads have been runnable
// but waiting for a CPU (Linux's /proc/self/task/*/schedstat), -1 where
// the kernel does not say. (actors' latency benchmark has the same.)
func runQueueWait() time.Duration {
	paths, _ := filepath.Glob("/proc/self/task/*/schedstat")
	if len(paths) == 0 {
		return -1
	}
	var sum int64
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // the thread has exited
		}
		if f := strings.Fields(string(data)); len(f) == 3 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			sum += n
		}
	}
	return time.Duration(sum)
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
