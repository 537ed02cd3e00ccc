package actors

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// fastMetrics samples every 10 ms, so tests see samples soon.
func fastMetrics(c *Config) { c.MetricsInterval = 10 * time.Millisecond }

// byVertex sums a job's samples per vertex name.
func byVertex(samples []SubtaskSample) map[string]SubtaskMetrics {
	out := map[string]SubtaskMetrics{}
	for _, s := range samples {
		v := out[s.Vertex]
		v.RecordsIn += s.RecordsIn
		v.RecordsOut += s.RecordsOut
		v.BatchesIn += s.BatchesIn
		v.BatchesOut += s.BatchesOut
		v.SourceRecords += s.SourceRecords
		v.SinkRecords += s.SinkRecords
		out[s.Vertex] = v
	}
	return out
}

// A finished job's view holds every subtask's final counts: what the
// source read and the sink wrote, and the records and batches between.
func TestJob_Metrics_finalCountsMatchTheRecords(t *testing.T) {
	const n = 10_000
	e := newTestEngine(t, func(c *Config) { fastMetrics(c); c.BatchSize = 64 })
	p := operators.NewPipeline("counts")
	src := operators.Generate(p, n, func(i int64) int64 { return i }).Name("numbers")
	even := operators.Filter(src.Rebalance(), func(v int64) bool { return v%2 == 0 }).Name("even").Parallelism(2)
	operators.Discard(even.Rebalance()).Name("sink")
	job := submit(t, e, p)
	if err := waitJob(t, job); err != nil {
		t.Fatal(err)
	}
	got := byVertex(job.Metrics())
	want := map[string]SubtaskMetrics{
		"numbers": {RecordsOut: n, SourceRecords: n},
		"even":    {RecordsIn: n, RecordsOut: n / 2},
		"sink":    {RecordsIn: n / 2, SinkRecords: n / 2},
	}
	for name, w := range want {
		g := got[name]
		if g.RecordsIn != w.RecordsIn || g.RecordsOut != w.RecordsOut || g.SourceRecords != w.SourceRecords || g.SinkRecords != w.SinkRecords {
			t.Errorf("%s: in %d out %d read %d written %d; want in %d out %d read %d written %d", name,
				g.RecordsIn, g.RecordsOut, g.SourceRecords, g.SinkRecords, w.RecordsIn, w.RecordsOut, w.SourceRecords, w.SinkRecords)
		}
		if (w.RecordsIn > 0) != (g.BatchesIn > 0) || (w.RecordsOut > 0) != (g.BatchesOut > 0) {
			t.Errorf("%s: batches in %d, out %d for records in %d, out %d", name, g.BatchesIn, g.BatchesOut, g.RecordsIn, g.RecordsOut)
		}
	}
	if s := job.Metrics(); len(s) != 4 {
		t.Errorf("%d samples, want 4 (one per subtask)", len(s))
	}
}

// With metrics off, subtasks count nothing and nothing is sampled.
func TestConfig_MetricsInterval_negativeTurnsMetricsOff(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.MetricsInterval = -1 })
	p := operators.NewPipeline("off")
	operators.Discard(operators.FromSlice(p, seq(100)))
	job := submit(t, e, p)
	if err := waitJob(t, job); err != nil {
		t.Fatal(err)
	}
	if s := job.Metrics(); len(s) != 0 {
		t.Errorf("Metrics() = %+v, want none with metrics off", s)
	}
}

// A node's table holds the samples of the subtasks running there, with
// counts that move, until their job ends; then they leave it.
func TestEngine_SubtaskMetrics_whileTheJobRuns(t *testing.T) {
	e := newTestEngine(t, fastMetrics)
	p := operators.NewPipeline("live")
	src := operators.Generate(p, -1, func(i int64) int64 { return i }, operators.RateLimit(20_000)).Name("gen")
	operators.Discard(operators.Map(src, func(v int64) int64 { return v }).Name("m"))
	job := submit(t, e, p)
	var first int64
	eventually(t, 10*time.Second, func() bool {
		s := e.SubtaskMetrics()
		if len(s) != 1 || s[0].SourceRecords == 0 {
			return false
		}
		if first == 0 {
			first = s[0].SourceRecords
			return false
		}
		return s[0].SourceRecords > first && s[0].Run == job.RunID() && strings.HasPrefix(s[0].Vertex, "gen -> m") && s[0].Job == "live" && s[0].Idle > 0
	}, "the source's count to move in the node's table")
	eventually(t, 10*time.Second, func() bool { return job.Uptime() > 0 }, "an uptime")
	job.Cancel()
	eventually(t, 10*time.Second, func() bool { return len(e.SubtaskMetrics()) == 0 }, "the cancelled job's samples to leave")
	if job.Uptime() != 0 {
		t.Errorf("Uptime() = %v after cancel, want 0", job.Uptime())
	}
}

// slowMap handles one record per tick: a bottleneck whose goroutine
// returns between records.
func slowMap(tick <-chan time.Time) func(int64) int64 {
	return func(v int64) int64 {
		<-tick
		return v
	}
}

// Behind a slow operator, the operators before it wait for credit
// (backpressured near 1), the slow one works (busy near 1, not
// backpressured) and the one after it waits for input (idle near 1), as
// Flink's backpressure monitoring shows them.
func TestJob_Metrics_backpressureBehindASlowOperator(t *testing.T) {
	ticker := time.NewTicker(500 * time.Microsecond)
	defer ticker.Stop()
	e := newTestEngine(t, func(c *Config) { fastMetrics(c); c.BatchSize, c.Credits = 8, 2 })
	p := operators.NewPipeline("bp")
	src := operators.Generate(p, -1, func(i int64) int64 { return i }).Name("source")
	fast := operators.Map(src.Rebalance(), func(v int64) int64 { return v }).Name("fast")
	slow := operators.Map(fast.Rebalance(), slowMap(ticker.C)).Name("slow")
	operators.Discard(slow.Rebalance()).Name("sink")
	job := submit(t, e, p)
	defer job.Cancel()
	var last map[string]SubtaskSample
	ok := func() bool {
		last = map[string]SubtaskSample{}
		for _, s := range job.Metrics() {
			last[s.Vertex] = s
		}
		return last["source"].BackpressuredRatio > 0.8 && last["fast"].BackpressuredRatio > 0.8 &&
			last["slow"].BusyRatio > 0.8 && last["slow"].BackpressuredRatio < 0.2 &&
			last["sink"].IdleRatio > 0.8 && last["sink"].BackpressuredRatio < 0.2
	}
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no sample showed the backpressure; the last:\n%s", ratios(last))
		}
		time.Sleep(5 * time.Millisecond) // polling the job's view; not a wait for an event
	}
	t.Logf("\n%s", ratios(last))
}

func ratios(samples map[string]SubtaskSample) string {
	var b strings.Builder
	for _, name := range []string{"source", "fast", "slow", "sink"} {
		s := samples[name]
		fmt.Fprintf(&b, "%s: busy %.2f idle %.2f backpressured %.2f\n", name, s.BusyRatio, s.IdleRatio, s.BackpressuredRatio)
	}
	return b.String()
}

// Checkpoints are counted and kept with their durations and sizes, and
// the state each vertex stored.
func TestJob_Checkpoints_historyAndSizes(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Checkpoint.Interval = 10 * time.Millisecond })
	p := operators.NewPipeline("ck")
	src := operators.Generate(p, -1, func(i int64) int64 { return i }, operators.RateLimit(5000)).Name("gen")
	sum := operators.Reduce(operators.KeyBy(src, func(v int64) int64 { return v % 10 }), func(a, b int64) int64 { return a + b }).Name("sum")
	operators.Discard(sum).Name("sink")
	job := submit(t, e, p)
	defer job.Cancel()
	eventually(t, 20*time.Second, func() bool { return job.Checkpoints().Completed >= 2 }, "two checkpoints")
	cs := job.Checkpoints()
	if cs.Durations.Count != uint64(cs.Completed) || cs.Sizes.Count != uint64(cs.Completed) {
		t.Errorf("histograms count %d durations and %d sizes for %d checkpoints", cs.Durations.Count, cs.Sizes.Count, cs.Completed)
	}
	var completed []CheckpointStats
	for _, h := range cs.History {
		if h.Status == CheckpointCompleted {
			completed = append(completed, h)
		}
	}
	if len(completed) == 0 {
		t.Fatalf("no completed checkpoint in the history %+v", cs.History)
	}
	if cs.Latest == nil || cs.Latest.ID < completed[len(completed)-1].ID {
		t.Errorf("Latest = %+v, want the newest completed, %d or later", cs.Latest, completed[len(completed)-1].ID)
	}
	for _, h := range completed {
		if h.Duration <= 0 || h.Size <= 0 || h.Path == "" || h.Triggered.IsZero() {
			t.Errorf("checkpoint %d: duration %v, size %d, path %q, triggered %v; want all set", h.ID, h.Duration, h.Size, h.Path, h.Triggered)
		}
	}
	var sumID int
	for _, v := range mustBuild(t, p).Vertices {
		if strings.HasPrefix(v.Name, "sum") {
			sumID = v.ID
		}
	}
	if cs.StateSizes[sumID] <= 0 {
		t.Errorf("state sizes %v: nothing for the keyed sum (vertex %d)", cs.StateSizes, sumID)
	}
}

func mustBuild(t *testing.T, p *operators.Pipeline) *operators.JobGraph {
	t.Helper()
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Every failure is kept with the operator and subtask that failed.
func TestJob_Exceptions_nameTheFailingSubtask(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Restart = FixedDelay(1, 0) })
	p := operators.NewPipeline("exc")
	errBoom := errors.New("boom")
	m := operators.Process(operators.FromSlice(p, seq(10)), func(_ *operators.ProcessContext, v int, _ operators.Collector[int]) error {
		if v == 5 {
			return errBoom
		}
		return nil
	}).Name("explode")
	operators.Discard(m)
	job := submit(t, e, p)
	if err := waitJob(t, job); !errors.Is(err, errBoom) {
		t.Fatalf("err %v, want boom", err)
	}
	exc := job.Exceptions()
	if len(exc) != 2 {
		t.Fatalf("%d exceptions, want 2 (the restart's and the final failure's): %+v", len(exc), exc)
	}
	for i, x := range exc {
		if !strings.Contains(x.Vertex, "explode") || x.Subtask != 0 || x.Attempt != i+1 || !strings.Contains(x.Error, "boom") || x.Time.IsZero() {
			t.Errorf("exception %d: %+v; want explode subtask 0 of attempt %d, boom", i, x, i+1)
		}
	}
}

// A sample crosses the network unchanged, but for what the master knows
// better: the job, vertex and index are its own.
func TestMetricsWire_roundTrip(t *testing.T) {
	p := operators.NewPipeline("w")
	operators.Discard(operators.FromSlice(p, seq(1))).Name("sink")
	g := mustBuild(t, p)
	v := g.Vertices[0]
	now := time.Unix(100, 5)
	in := SubtaskMetrics{Job: "w", Run: "r1", Vertex: v.Name, VertexID: v.ID, Subtask: 0, Attempt: 2, Node: "n1",
		Started: now.Add(-time.Minute), At: now, Source: true, Sink: true, RecordsIn: 1, RecordsOut: 2, BatchesIn: 3, BatchesOut: 4,
		RemoteBytesIn: 5, RemoteBytesOut: 6, SourceRecords: 7, SinkRecords: 8, LateRecordsDropped: 9, MailboxLen: 10,
		Busy: 11, Idle: 12, Backpressured: 13, InputWatermark: 14, OutputWatermark: 15,
		Async: []AsyncMetrics{{Operator: "lookup", AsyncStats: operators.AsyncStats{Calls: 1, Completed: 2, Retries: 3,
			Timeouts: 4, Failures: 5, Late: 6, InFlight: 7}}}}
	in.Async[0].Latency.Observe(time.Millisecond)
	ref := &subtaskRef{id: 3, vertex: v, index: 0}
	out := metricsFrom(wireMetrics(3, in), "w", "r1", 2, ref)
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

// The time split adds each activity's time when it ends, and the current
// one's up to now.
func TestTimeSplit_totals(t *testing.T) {
	t0 := time.Unix(0, 0)
	var ts timeSplit
	ts.start(t0)
	ts.enter(t0.Add(1*time.Second), idle)           // busy 1 s
	ts.enter(t0.Add(3*time.Second), backpressured)  // idle 2 s
	ts.enter(t0.Add(6*time.Second), busy)           // backpressured 3 s
	ts.enter(t0.Add(7*time.Second), idle)           // busy 1 s
	b, i, bp := ts.totals(t0.Add(10 * time.Second)) // idle 3 s so far
	if b != 2*time.Second || i != 5*time.Second || bp != 3*time.Second {
		t.Errorf("busy %v, idle %v, backpressured %v; want 2s, 5s, 3s", b, i, bp)
	}
}

// Rates and ratios come from two samples of one attempt; across attempts
// (counts start again) there are none.
func TestSampleOf_ratesBetweenSamples(t *testing.T) {
	t0 := time.Unix(0, 0)
	prev := SubtaskMetrics{Attempt: 1, At: t0, RecordsIn: 100, RecordsOut: 50, Idle: time.Second, Backpressured: 0}
	cur := SubtaskMetrics{Attempt: 1, At: t0.Add(2 * time.Second), RecordsIn: 300, RecordsOut: 150,
		Idle: time.Second + 500*time.Millisecond, Backpressured: time.Second}
	s := sampleOf(&prev, cur)
	if s.RecordsInPerSecond != 100 || s.RecordsOutPerSecond != 50 || s.IdleRatio != 0.25 || s.BackpressuredRatio != 0.5 || s.BusyRatio != 0.25 {
		t.Errorf("rates %+v; want 100/s in, 50/s out, idle 0.25, backpressured 0.5, busy 0.25", s)
	}
	cur.Attempt = 2
	if s := sampleOf(&prev, cur); s.RecordsInPerSecond != 0 || s.BusyRatio != 0 {
		t.Errorf("rates across attempts %+v; want none", s)
	}
}

// An async operator's counters reach the job's view, latency included.
func TestJob_Metrics_asyncOperator(t *testing.T) {
	e := newTestEngine(t, fastMetrics)
	p := operators.NewPipeline("async")
	src := operators.FromSlice(p, seq(50))
	out := operators.AsyncMap(src, func(_ context.Context, v int) ([]int, error) { return []int{v}, nil }, operators.DefaultAsyncConfig[int, int]()).Name("lookup")
	operators.Discard(out)
	job := submit(t, e, p)
	if err := waitJob(t, job); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range job.Metrics() {
		for _, a := range s.Async {
			found = true
			if a.Operator != "lookup" || a.Calls == 0 || a.Completed != 50 || a.Latency.Count != 50 {
				t.Errorf("async %+v; want lookup with 50 completed and 50 latencies", a)
			}
		}
	}
	if !found {
		t.Errorf("no async counters in %+v", job.Metrics())
	}
}
