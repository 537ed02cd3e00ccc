package actors

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// benchRecords is the workload size of BenchmarkPipeline_MapFilterKeyedSum.
const benchRecords = 5_000_000

type benchRec struct{ Key, Value int64 }

// BenchmarkPipeline_MapFilterKeyedSum measures the core data path: 5 M
// records {key: i % 1000, value: i} → map value*3+1 → filter even → keyBy
// key → running sum, parallelism 1; and, in the same run, three
// hand-written baselines doing the same work: "staged", one goroutine per
// stage and channels of 512-record batches; "fused", the generator, map
// and filter in one goroutine and the keyed sum in a second, batches of
// 1024 between them (the engine's plan, written by hand, the functions
// inlined into its loops); and "fused-indirect", the same plan calling
// the job's own five functions through function values, as an engine
// that does not generate code must. Each iteration runs the four one
// after the other (the engine on a fresh engine, closed before the
// baselines run); it reports records per second of wall time and per CPU
// second of each, the engine's as ratios of the fused baseline's
// (ratio-fused, cpu-ratio-fused), the staged one's (ratio-staged) and the
// fused-indirect one's (ratio-fused-indirect), what the indirect calls
// alone cost the fused plan (indirect-ratio-fused: the most ratio-fused
// an engine calling the user's functions can reach), and the engine's
// heap allocations per record (the job's deployment included).
func BenchmarkPipeline_MapFilterKeyedSum(b *testing.B) {
	var troupe, staged, fused, indirect benchTimes
	var split chainSplit
	var outputs int64
	b.ResetTimer()
	for range b.N {
		e := benchNewEngine(b, func(*Config) {})
		troupe.add(func() { split.add(b, runBenchJob(b, e, benchRecords, &outputs)) })
		_ = e.Close()
		staged.add(func() {
			if n := baselinePipeline(benchRecords); n != benchRecords/2 {
				b.Fatalf("staged baseline's sink saw %d records", n)
			}
		})
		fused.add(func() {
			if n := fusedPipeline(benchRecords); n != benchRecords/2 {
				b.Fatalf("fused baseline's sink saw %d records", n)
			}
		})
		indirect.add(func() {
			if n := fusedIndirectPipeline(benchRecords, benchFuncs); n != benchRecords/2 {
				b.Fatalf("fused-indirect baseline's sink saw %d records", n)
			}
		})
	}
	b.StopTimer()
	if outputs != int64(b.N)*benchRecords/2 {
		b.Fatalf("sink saw %d records, want %d", outputs, int64(b.N)*benchRecords/2)
	}
	recs := float64(b.N) * benchRecords
	for _, r := range []struct {
		name string
		t    benchTimes
	}{{"troupe", troupe}, {"staged", staged}, {"fused", fused}, {"fused-indirect", indirect}} {
		b.ReportMetric(recs/r.t.wall.Seconds(), r.name+"-rec/s")
		b.ReportMetric(recs/r.t.cpu.Seconds(), r.name+"-rec/cpu-s")
	}
	b.ReportMetric(float64(troupe.allocs)/recs, "troupe-allocs/rec")
	b.ReportMetric(fused.wall.Seconds()/troupe.wall.Seconds(), "ratio-fused")
	b.ReportMetric(fused.cpu.Seconds()/troupe.cpu.Seconds(), "cpu-ratio-fused")
	b.ReportMetric(staged.wall.Seconds()/troupe.wall.Seconds(), "ratio-staged")
	b.ReportMetric(indirect.wall.Seconds()/troupe.wall.Seconds(), "ratio-fused-indirect")
	b.ReportMetric(fused.wall.Seconds()/indirect.wall.Seconds(), "indirect-ratio-fused")
	split.report(b)
}

// chainSplit adds up how the two subtasks of the MapFilterKeyedSum job
// spent their time (SubtaskMetrics' Busy, Idle and Backpressured): the
// one whose chain holds the source (generator, map, filter) and the keyed
// one (reduce, sink). The job's wall time is the busier chain's plus the
// time that chain waits for the other — for credit (src-bp-%) or for
// input — so the split says which chain bounds the wall time, and how
// much of it goes to hand-offs between the two.
type chainSplit struct {
	src, keyed timeShares
}

// timeShares adds up one subtask's SubtaskMetrics time split.
type timeShares struct{ busy, idle, bp time.Duration }

func (t *timeShares) add(m SubtaskSample) {
	t.busy += m.Busy
	t.idle += m.Idle
	t.bp += m.Backpressured
}

// pct returns d as a percentage of the subtask's whole time.
func (t timeShares) pct(d time.Duration) float64 {
	return 100 * d.Seconds() / (t.busy + t.idle + t.bp).Seconds()
}

func (c *chainSplit) add(b *testing.B, job *Job) {
	ms := job.Metrics()
	if len(ms) != 2 {
		b.Fatalf("want the final samples of 2 subtasks, have %d", len(ms))
	}
	for _, m := range ms {
		if m.Source {
			c.src.add(m)
		} else {
			c.keyed.add(m)
		}
	}
}

func (c *chainSplit) report(b *testing.B) {
	b.ReportMetric(c.src.pct(c.src.busy), "src-busy-%")
	b.ReportMetric(c.src.pct(c.src.bp), "src-bp-%")
	b.ReportMetric(c.keyed.pct(c.keyed.busy), "keyed-busy-%")
	b.ReportMetric(c.keyed.pct(c.keyed.idle), "keyed-idle-%")
}

// benchTimes adds up the wall and CPU time and the heap allocations of
// runs.
type benchTimes struct {
	wall, cpu time.Duration
	allocs    uint64
}

// add runs fn after a garbage collection (so that it does not pay for the
// garbage of the run before) and adds its times and allocations.
func (t *benchTimes) add(fn func()) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0, wall0 := cpuTime(), time.Now()
	fn()
	t.cpu += cpuTime() - cpu0
	t.wall += time.Since(wall0)
	runtime.ReadMemStats(&m1)
	t.allocs += m1.Mallocs - m0.Mallocs
}

// BenchmarkCheckpointOverhead runs the MapFilterKeyedSum pipeline over 200 M
// records (a few seconds) with checkpoints every second (in memory) and,
// in the same run, without: the ratio is checkpointing's cost.
func BenchmarkCheckpointOverhead(b *testing.B) {
	const n = 200_000_000
	b.Run("none", func(b *testing.B) { benchEngine(b, nil, n) })
	b.Run("every1s", func(b *testing.B) {
		benchEngine(b, func(c *Config) { c.Checkpoint.Interval = time.Second }, n)
	})
}

func benchEngine(b *testing.B, mod func(*Config), records int64) {
	cfg := DefaultConfig()
	cfg.Logger = QuietLogger()
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var outputs, checkpoints int64
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		checkpoints += runBenchPipeline(b, e, records, &outputs)
	}
	if cfg.Checkpoint.Interval > 0 {
		b.ReportMetric(float64(checkpoints)/float64(b.N), "checkpoints/op")
	}
	b.ReportMetric(float64(b.N)*float64(records)/time.Since(start).Seconds(), "rec/s")
	if outputs != int64(b.N)*records/2 {
		b.Fatalf("sink saw %d records, want %d", outputs, int64(b.N)*records/2)
	}
}

// runBenchPipeline runs the MapFilterKeyedSum pipeline over records on e,
// counting its outputs, and returns its latest checkpoint's id.
func runBenchPipeline(b *testing.B, e *Engine, records int64, outputs *int64) int64 {
	if c, ok := runBenchJob(b, e, records, outputs).LatestCheckpoint(); ok {
		return c.ID
	}
	return 0
}

// runBenchJob runs the MapFilterKeyedSum pipeline over records on e,
// counting its outputs, and returns the ended job.
func runBenchJob(b *testing.B, e *Engine, records int64, outputs *int64) *Job {
	p := operators.NewPipeline("bench")
	src := operators.Generate(p, records, benchFuncs.gen)
	m := operators.Map(src, benchFuncs.mapFn)
	f := operators.Filter(m, benchFuncs.filter)
	ks := operators.KeyBy(f, benchFuncs.key)
	sum := operators.Reduce(ks, benchFuncs.reduce)
	operators.ToSink(sum, "count", func(*operators.TaskContext) (operators.SinkWriter[benchRec], error) {
		return countSink{outputs}, nil
	})
	job := submit(b, e, p)
	if err := job.Wait(context.Background()); err != nil {
		b.Fatal(err)
	}
	return job
}

// BenchmarkMetricsOverhead measures what metrics cost on the data path:
// the MapFilterKeyedSum pipeline on an engine with metrics off
// (MetricsInterval < 0) and on one with them on (sampled every second, as
// by default, and read every second as a scrape would), runs alternating
// within one benchmark so that both see the same machine. overhead-% is
// the median, over the pairs of runs (one off, one on, back to back), of
// how much longer the run with metrics took: a loaded machine's drift
// hits both runs of a pair alike.
func BenchmarkMetricsOverhead(b *testing.B) {
	off := benchNewEngine(b, func(c *Config) { c.MetricsInterval = -1 })
	on := benchNewEngine(b, func(c *Config) { c.MetricsInterval = time.Second })
	stop := make(chan struct{})
	scraped := make(chan int)
	go func() { // a scraper, off the data path
		n := 0
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				scraped <- n
				return
			case <-t.C:
				n += len(on.SubtaskMetrics())
			}
		}
	}()
	var offTime, onTime time.Duration
	var outputs int64
	ratios := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		var pair [2]time.Duration // off, on
		for k := range 2 {
			e, which := off, 0
			if (i+k)%2 == 1 { // alternate which goes first
				e, which = on, 1
			}
			start := time.Now()
			runBenchPipeline(b, e, benchRecords, &outputs)
			pair[which] = time.Since(start)
		}
		offTime, onTime = offTime+pair[0], onTime+pair[1]
		ratios = append(ratios, pair[1].Seconds()/pair[0].Seconds())
	}
	b.StopTimer()
	close(stop)
	<-scraped
	if outputs != 2*int64(b.N)*benchRecords/2 {
		b.Fatalf("sinks saw %d records, want %d", outputs, int64(b.N)*benchRecords)
	}
	b.ReportMetric(float64(b.N)*benchRecords/offTime.Seconds(), "off-rec/s")
	b.ReportMetric(float64(b.N)*benchRecords/onTime.Seconds(), "on-rec/s")
	slices.Sort(ratios)
	b.ReportMetric(100*(ratios[len(ratios)/2]-1), "overhead-%")
}

func benchNewEngine(b *testing.B, mod func(*Config)) *Engine {
	cfg := DefaultConfig()
	cfg.Logger = QuietLogger()
	mod(&cfg)
	e, err := NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close() })
	return e
}

type countSink struct{ n *int64 }

func (c countSink) Write(benchRec, int64) error {
	*c.n++ // one sink subtask: no concurrent writers
	return nil
}

// baselinePipeline is the hand-written comparison: generator, map, filter,
// keyed running sum and a counting sink, each its own goroutine, linked by
// channels that carry 512-record batches.
func baselinePipeline(n int64) int64 {
	const batch = 512
	stage := func(in <-chan []benchRec, fn func([]benchRec, []benchRec) []benchRec) <-chan []benchRec {
		out := make(chan []benchRec, 4)
		go func() {
			defer close(out)
			for recs := range in {
				if res := fn(recs, make([]benchRec, 0, batch)); len(res) > 0 {
					out <- res
				}
			}
		}()
		return out
	}
	gen := make(chan []benchRec, 4)
	go func() {
		defer close(gen)
		buf := make([]benchRec, 0, batch)
		for i := range n {
			buf = append(buf, benchRec{Key: i % 1000, Value: i})
			if len(buf) == batch {
				gen <- buf
				buf = make([]benchRec, 0, batch)
			}
		}
		if len(buf) > 0 {
			gen <- buf
		}
	}()
	mapped := stage(gen, func(in, out []benchRec) []benchRec {
		for _, r := range in {
			out = append(out, benchRec{Key: r.Key, Value: r.Value*3 + 1})
		}
		return out
	})
	filtered := stage(mapped, func(in, out []benchRec) []benchRec {
		for _, r := range in {
			if r.Value%2 == 0 {
				out = append(out, r)
			}
		}
		return out
	})
	sums := make(map[int64]int64)
	summed := stage(filtered, func(in, out []benchRec) []benchRec {
		for _, r := range in {
			s := sums[r.Key] + r.Value
			sums[r.Key] = s
			out = append(out, benchRec{Key: r.Key, Value: s})
		}
		return out
	})
	var count int64
	for recs := range summed {
		count += int64(len(recs))
	}
	return count
}

// benchFuncs are the MapFilterKeyedSum job's functions, which its
// engine run and its fused-indirect baseline both call.
var benchFuncs = mfksFuncs{
	gen:    func(i int64) benchRec { return benchRec{Key: i % 1000, Value: i} },
	mapFn:  func(r benchRec) benchRec { r.Value = r.Value*3 + 1; return r },
	filter: func(r benchRec) bool { return r.Value%2 == 0 },
	key:    func(r benchRec) int64 { return r.Key },
	reduce: func(acc, r benchRec) benchRec { acc.Value += r.Value; return acc },
}

type mfksFuncs struct {
	gen    func(int64) benchRec
	mapFn  func(benchRec) benchRec
	filter func(benchRec) bool
	key    func(benchRec) int64
	reduce func(acc, r benchRec) benchRec
}

// fusedIndirectPipeline is fusedPipeline calling fn's functions through
// function values: per record, the generator, map and filter in the
// first goroutine, the key and (from a key's second record on) the
// reduce in the second. It must not be inlined: inlined with benchFuncs,
// the compiler could see through the function values and inline them.
//
//go:noinline
func fusedIndirectPipeline(n int64, fn mfksFuncs) int64 {
	link := newFusedLink()
	go func() {
		buf := <-link.free
		for i := range n {
			r := fn.mapFn(fn.gen(i))
			if !fn.filter(r) {
				continue
			}
			if buf = append(buf, r); len(buf) == fusedBatch {
				buf = link.ship(buf)
			}
		}
		link.end(buf)
	}()
	sums := make(map[int64]benchRec)
	var count int64
	for recs := range link.full {
		for _, r := range recs {
			k := fn.key(r)
			if acc, ok := sums[k]; ok {
				r = fn.reduce(acc, r)
			}
			sums[k] = r
			count++ // the sink: one running sum out per record in
		}
		link.free <- recs[:0]
	}
	return count
}

// fusedBatch is how many records the fused baseline hands from its first
// goroutine to its second at a time, as the engine's batches.
const fusedBatch = 1024

// fusedPipeline is the hand-fused comparison: the generator, map and
// filter in one goroutine, the keyed running sum and a counting sink in a
// second (the caller's), batches of fusedBatch records between them. The
// batches go back to the first goroutine once summed; it has eight of
// them, as a channel of the engine has eight credits (DefaultCredits).
func fusedPipeline(n int64) int64 {
	link := newFusedLink()
	go func() {
		buf := <-link.free
		for i := range n {
			r := benchRec{Key: i % 1000, Value: i}
			r.Value = r.Value*3 + 1
			if r.Value%2 != 0 {
				continue
			}
			if buf = append(buf, r); len(buf) == fusedBatch {
				buf = link.ship(buf)
			}
		}
		link.end(buf)
	}()
	sums := make(map[int64]int64)
	var count int64
	for recs := range link.full {
		for _, r := range recs {
			sums[r.Key] += r.Value
			count++ // the sink: one running sum out per record in
		}
		link.free <- recs[:0]
	}
	return count
}

// fusedLink is the fused baselines' hand-off from their first goroutine
// to their second: full batches one way, emptied ones back, DefaultCredits
// of them, as one channel of the engine with its credits.
type fusedLink struct{ full, free chan []benchRec }

func newFusedLink() fusedLink {
	l := fusedLink{full: make(chan []benchRec, DefaultCredits), free: make(chan []benchRec, DefaultCredits)}
	for range DefaultCredits {
		l.free <- make([]benchRec, 0, fusedBatch)
	}
	return l
}

// ship hands a full batch on and returns an empty one, once one is back.
func (l fusedLink) ship(buf []benchRec) []benchRec {
	l.full <- buf
	return <-l.free
}

// end hands on the last batch, if it holds records, and closes the link.
func (l fusedLink) end(buf []benchRec) {
	if len(buf) > 0 {
		l.full <- buf
	}
	close(l.full)
}
