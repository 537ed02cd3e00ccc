package actors_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// overload makes TestMemory_tenfoldOverload run that long and log its
// resident memory every second (docs/benchmarks.md):
//
//	go test ./actors -run TestMemory_tenfoldOverload -overload 1m -v
var overload = flag.Duration("overload", 0, "run TestMemory_tenfoldOverload this long, logging its RSS each second; 0: a short run")

// overloadEvent is a record of the overload job: a sequence number and a
// payload of its own on the heap, so that records held anywhere show in
// the resident memory.
type overloadEvent struct {
	Seq     int64
	Payload string
}

// A fast source into a sink ten times slower, under a memory budget: the
// source is held back by credits (it reads about a tenth of what it could),
// what waits for credit stays within two batches in every subtask however
// the FlatMap fans out, the process's resident memory stays flat, and the
// sink gets every record exactly once and in order once the job is
// stopped. In CI it runs 2 s and checks the counters; -overload 1m runs
// it a minute and logs the RSS curve.
func TestMemory_tenfoldOverload(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("samples resident memory from Linux's /proc")
	}
	const budget = 256 << 20
	run := 2 * time.Second
	if *overload > 0 {
		run = *overload
	}
	// How fast the source (with its fan-out) runs alone, into a sink that
	// does nothing: the slow sink then takes ten times as long for the
	// records of one source record.
	alone := overloadRate(t, budget, 0)
	perRecord := time.Duration(float64(10*time.Second) / alone / overloadFan)
	t.Logf("source alone: %.0f records/s; the sink takes %v per record, %v per source record",
		alone, perRecord, overloadFan*perRecord)

	e := newOverloadEngine(t, budget)
	var produced atomic.Int64
	sink := &seqSink{delay: perRecord}
	p := overloadPipeline(&produced, sink)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	job, err := e.Submit(g)
	if err != nil {
		t.Fatal(err)
	}
	samples := sampleRSS(t, job, run)
	job.Stop() // sources end; everything in flight reaches the sink
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := job.Wait(ctx); err != nil {
		t.Fatalf("job: %v", err)
	}
	n := produced.Load()
	if sink.err != "" || sink.next != n*overloadFan {
		t.Fatalf("sink got %d records in order of the %d the source's %d inputs fanned out to (%s)", sink.next, n*overloadFan, n, sink.err)
	}
	rate := float64(n) / run.Seconds()
	t.Logf("under 10× overload: the source read %.0f records/s (%.0f%% of its rate alone); %d records, all delivered once, in order",
		rate, 100*rate/alone, n*overloadFan)
	samples.log(t)
	if rate > alone/3 {
		t.Errorf("the source read %.0f records/s, a third or more of its %.0f alone: not held back", rate, alone)
	}
	checkQueued(t, job)
}

// overloadFan is how many records the FlatMap emits per source record.
const overloadFan = 4

func newOverloadEngine(t *testing.T, memory int64) *actors.Engine {
	t.Helper()
	cfg := actors.DefaultConfig()
	cfg.Memory, cfg.Logger = memory, actors.QuietLogger()
	e, err := actors.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// overloadPipeline is a source of numbered events fanned out 4 ways by a
// chained FlatMap, into sink over a channel.
func overloadPipeline(produced *atomic.Int64, sink operators.SinkWriter[overloadEvent]) *operators.Pipeline {
	p := operators.NewPipeline("overload")
	src := operators.Generate(p, -1, func(seq int64) int64 { produced.Add(1); return seq }).Name("gen")
	fanned := operators.FlatMap(src, func(seq int64, emit func(overloadEvent)) {
		for i := range int64(overloadFan) {
			emit(overloadEvent{Seq: seq*overloadFan + i, Payload: strings.Repeat("x", 64)})
		}
	}).Name("fan")
	operators.ToSink(fanned.Rebalance(), "slow", func(*operators.TaskContext) (operators.SinkWriter[overloadEvent], error) {
		return sink, nil
	})
	return p
}

// overloadRate runs the pipeline into a sink that does nothing for a
// second and returns the source's records per second.
func overloadRate(t *testing.T, memory int64, delay time.Duration) float64 {
	t.Helper()
	e := newOverloadEngine(t, memory)
	var produced atomic.Int64
	g, err := overloadPipeline(&produced, &seqSink{delay: delay}).Build()
	if err != nil {
		t.Fatal(err)
	}
	job, err := e.Submit(g)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return produced.Load() > 0 }, "the source running")
	start, from := time.Now(), produced.Load()
	timer := time.NewTimer(time.Second)
	<-timer.C
	rate := float64(produced.Load()-from) / time.Since(start).Seconds()
	job.Cancel()
	_ = job.Wait(context.Background())
	_ = e.Close()
	return rate
}

// seqSink checks that records come in sequence, taking delay over each
// (busy: as a slow external system would hold the goroutine).
type seqSink struct {
	delay time.Duration
	next  int64
	err   string
}

func (s *seqSink) Write(v overloadEvent, _ int64) error {
	if start := time.Now(); s.delay > 0 {
		for time.Since(start) < s.delay {
		}
	}
	if v.Seq != s.next && s.err == "" {
		s.err = fmt.Sprintf("record %d after %d", v.Seq, s.next-1)
	}
	s.next++
	return nil
}

// rssSamples are the process's resident memory and Go heap over a run.
type rssSamples struct {
	at        []time.Duration
	rss, heap []int64
}

// sampleRSS samples the resident memory every 100 ms for d (every second
// in the log), while job runs.
func sampleRSS(t *testing.T, job *actors.Job, d time.Duration) *rssSamples {
	t.Helper()
	s := &rssSamples{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for start := time.Now(); time.Since(start) < d; <-tick.C {
		if job.State() != actors.JobRunning && job.State() != actors.JobCreated {
			t.Fatalf("job %v while sampling: %v", job.State(), job.Failure())
		}
		rss, err := testkit.ProcessRSS(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.at = append(s.at, time.Since(start))
		s.rss, s.heap = append(s.rss, rss), append(s.heap, int64(ms.HeapInuse))
	}
	return s
}

// log writes the curve, one sample a second, and its summary.
func (s *rssSamples) log(t *testing.T) {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s.rss); i += 10 {
		fmt.Fprintf(&b, "\n  %5.1fs  RSS %6.1f MiB  heap in use %6.1f MiB", s.at[i].Seconds(), mibOf(s.rss[i]), mibOf(s.heap[i]))
	}
	half := s.rss[len(s.rss)/2:]
	lo, hi := half[0], half[0]
	for _, r := range half {
		lo, hi = min(lo, r), max(hi, r)
	}
	t.Logf("resident memory every second:%s\nsecond half: RSS %.1f to %.1f MiB; first sample %.1f MiB, last %.1f MiB",
		b.String(), mibOf(lo), mibOf(hi), mibOf(s.rss[0]), mibOf(s.rss[len(s.rss)-1]))
}

func mibOf(b int64) float64 { return float64(b) / (1 << 20) }

// checkQueued fails if a subtask ever held more than two batches waiting
// for credit: the batch that found none and one record's output.
func checkQueued(t *testing.T, job *actors.Job) {
	t.Helper()
	for _, s := range job.Metrics() {
		t.Logf("%s/%d: at most %d records waited for credit; backpressured %.0f%% of the time",
			s.Vertex, s.Subtask, s.OutputQueuedMax, 100*s.BackpressuredRatio)
		if s.OutputQueuedMax > 2*int64(actors.DefaultConfig().BatchSize) {
			t.Errorf("%s/%d: %d records waited for credit at once, more than 2 batches", s.Vertex, s.Subtask, s.OutputQueuedMax)
		}
	}
}
