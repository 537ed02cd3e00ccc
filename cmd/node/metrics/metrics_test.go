package metrics_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cmd/node/metrics"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// newEngine returns an engine sampling every 10 ms, closed on cleanup.
func newEngine(t *testing.T, mod func(*actors.Config)) *actors.Engine {
	t.Helper()
	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	cfg.MetricsInterval = 10 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	e, err := actors.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func submit(t *testing.T, e *actors.Engine, p *operators.Pipeline) *actors.Job {
	t.Helper()
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	job, err := e.Submit(g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(job.Cancel)
	return job
}

// serve serves the node's /metrics for the test.
func serve(t *testing.T, cfg metrics.Config) string {
	t.Helper()
	srv := httptest.NewServer(metrics.NewHandler(cfg))
	t.Cleanup(srv.Close)
	return srv.URL
}

// families is one scrape, by metric name.
type families map[string]*dto.MetricFamily

func scrape(t *testing.T, url string) families {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}
	return fams
}

// sum adds the values of a metric's series whose labels match want.
func (f families) sum(name string, want map[string]string) float64 {
	var total float64
	for _, m := range f.series(name, want) {
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

func (f families) series(name string, want map[string]string) []*dto.Metric {
	fam := f[name]
	if fam == nil {
		return nil
	}
	var out []*dto.Metric
	for _, m := range fam.Metric {
		if matches(m, want) {
			out = append(out, m)
		}
	}
	return out
}

func matches(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.Label {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() && !(strings.HasSuffix(v, "*") && strings.HasPrefix(l.GetValue(), strings.TrimSuffix(v, "*"))) {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// gatedReader emits 0, 1, 2, ... up to the budget the test allows, then
// waits (without ending) for more.
type gatedReader struct {
	budget *atomic.Int64
	next   int64
}

func (r *gatedReader) Poll(out operators.Collector[int64], max int) (operators.Poll, error) {
	for range max {
		if r.next >= r.budget.Load() {
			return operators.Poll{Status: operators.PollWait}, nil
		}
		out.Collect(r.next, 0)
		r.next++
	}
	return operators.Poll{Status: operators.PollMore}, nil
}

func (r *gatedReader) Close() error { return nil }

// gate lets a gated source emit more, and wakes it.
type gate struct {
	budget atomic.Int64
	mu     sync.Mutex
	wake   func()
}

func (g *gate) open(tc *operators.TaskContext) (operators.Reader[int64], error) {
	g.mu.Lock()
	g.wake = tc.Wake
	g.mu.Unlock()
	return &gatedReader{budget: &g.budget}, nil
}

func (g *gate) allow(n int64) {
	g.budget.Add(n)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.wake != nil {
		g.wake()
	}
}

// countSink counts what it writes.
type countSink struct{ n *atomic.Int64 }

func (s countSink) Write(int64, int64) error { s.n.Add(1); return nil }

// A scrape during a job shows counters that move with the records, and
// match, once the source waits, what the sink wrote.
func TestHandler_countersMoveAndMatchTheRecordsWritten(t *testing.T) {
	e := newEngine(t, nil)
	var g gate
	var written atomic.Int64
	p := operators.NewPipeline("scraped")
	src := operators.FromReader(p, "gated", g.open).Name("gated")
	doubled := operators.Map(src.Rebalance(), func(v int64) int64 { return 2 * v }).Name("double").Parallelism(2)
	operators.ToSink(doubled.Rebalance(), "count", func(*operators.TaskContext) (operators.SinkWriter[int64], error) {
		return countSink{&written}, nil
	}).Name("count")
	job := submit(t, e, p)
	url := serve(t, metrics.Config{Engine: e, Jobs: func() []*actors.Job { return []*actors.Job{job} }})
	job1 := map[string]string{"job": "scraped", "job_id": job.RunID()}

	for _, total := range []int64{1000, 2500} {
		g.allow(total - g.budget.Load())
		var f families
		testkit.Eventually(t, 20*time.Second, func() bool {
			f = scrape(t, url)
			return written.Load() == total && f.sum("troupe_sink_records_written_total", job1) == float64(total) &&
				f.sum("troupe_source_records_read_total", job1) == float64(total)
		}, "the scraped counts to reach %d records (the sink wrote %d)", total, written.Load())
		with := func(op string) map[string]string {
			return map[string]string{"job": "scraped", "job_id": job.RunID(), "operator": op}
		}
		checks := []struct {
			name, op string
			want     float64
		}{
			{"troupe_subtask_records_out_total", "gated", float64(total)},
			{"troupe_subtask_records_in_total", "double", float64(total)},
			{"troupe_subtask_records_out_total", "double", float64(total)},
			{"troupe_subtask_records_in_total", "count*", float64(total)},
		}
		for _, c := range checks {
			if got := f.sum(c.name, with(c.op)); got != c.want {
				t.Errorf("%s{operator=%q} = %v, want %v", c.name, c.op, got, c.want)
			}
		}
		if n := len(f.series("troupe_subtask_records_in_total", with("double"))); n != 2 {
			t.Errorf("%d series of the double operator, want 2 (one per subtask)", n)
		}
		if f.sum("troupe_subtask_batches_in_total", with("double")) == 0 {
			t.Error("no batches counted into the double operator")
		}
	}
	f := scrape(t, url)
	if got := f.sum("troupe_job_status", map[string]string{"job": "scraped", "status": "running"}); got != 1 {
		t.Errorf("troupe_job_status{status=running} = %v, want 1", got)
	}
	if got := f.sum("troupe_job_uptime_seconds", job1); got <= 0 {
		t.Errorf("troupe_job_uptime_seconds = %v, want > 0", got)
	}
	if f["go_goroutines"] == nil || f["process_cpu_seconds_total"] == nil {
		t.Error("no Go runtime or process metrics")
	}
	// docs/operations.md's memory alert and the dashboard read these.
	for _, name := range []string{"go_gc_heap_live_bytes", "go_gc_gogc_percent", "go_gc_gomemlimit_bytes"} {
		if got := f.sum(name, nil); got <= 0 {
			t.Errorf("%s = %v, want a positive value", name, got)
		}
	}
	job.Cancel()
	testkit.Eventually(t, 10*time.Second, func() bool {
		return len(scrape(t, url).series("troupe_subtask_records_in_total", nil)) == 0
	}, "the cancelled job's subtasks to leave /metrics")
	if got := scrape(t, url).sum("troupe_job_status", map[string]string{"job": "scraped", "status": "cancelled"}); got != 1 {
		t.Errorf("troupe_job_status{status=cancelled} = %v, want 1", got)
	}
}

// A slow operator: the operators before it are backpressured near all
// the time, the slow one and the sink after it near never.
func TestHandler_backpressureOfASlowOperator(t *testing.T) {
	ticker := time.NewTicker(500 * time.Microsecond)
	t.Cleanup(ticker.Stop) // after the job's cancel: the slow operator needs its ticks to return
	e := newEngine(t, func(c *actors.Config) { c.BatchSize, c.Credits = 8, 2 })
	p := operators.NewPipeline("bp")
	src := operators.Generate(p, -1, func(i int64) int64 { return i }).Name("source")
	fast := operators.Map(src.Rebalance(), func(v int64) int64 { return v }).Name("fast")
	slow := operators.Map(fast.Rebalance(), func(v int64) int64 { <-ticker.C; return v }).Name("slow")
	operators.Discard(slow.Rebalance()).Name("sink")
	job := submit(t, e, p)
	url := serve(t, metrics.Config{Engine: e})
	ratio := func(before, after families, at0, at1 time.Time, op string) float64 {
		sel := map[string]string{"job_id": job.RunID(), "operator": op + "*"}
		d := after.sum("troupe_subtask_backpressured_seconds_total", sel) - before.sum("troupe_subtask_backpressured_seconds_total", sel)
		return d / at1.Sub(at0).Seconds()
	}
	var got map[string]float64
	testkit.Eventually(t, 30*time.Second, func() bool {
		at0, before := time.Now(), scrape(t, url)
		<-time.After(300 * time.Millisecond) // the window the ratio is measured over
		at1, after := time.Now(), scrape(t, url)
		got = map[string]float64{}
		for _, op := range []string{"source", "fast", "slow", "sink"} {
			got[op] = ratio(before, after, at0, at1, op)
		}
		return got["source"] > 0.8 && got["fast"] > 0.8 && got["slow"] < 0.2 && got["sink"] < 0.2
	}, "backpressure near 1 before the slow operator and near 0 from it on: %v", &got)
	t.Logf("backpressured seconds per second: %v", got)
}

// An async call that replies after its record timed out is a late
// reply: the operator ignores it, and /metrics counts it, so that an
// operator can see calls outliving their timeout.
func TestHandler_asyncLateReplies(t *testing.T) {
	e := newEngine(t, nil)
	var g gate
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	p := operators.NewPipeline("late")
	src := operators.FromReader(p, "gated", g.open).Name("gated")
	cfg := operators.DefaultAsyncConfig[int64, int64]()
	cfg.Timeout = 20 * time.Millisecond
	cfg.OnTimeout = func(in int64) ([]int64, error) { return []int64{-in}, nil }
	slow := func(_ context.Context, v int64) ([]int64, error) {
		<-release // outlives its timeout: the reply comes after the record was given up
		return []int64{v}, nil
	}
	operators.Discard(operators.AsyncMap(src, slow, cfg).Name("lookup"))
	job := submit(t, e, p)
	t.Cleanup(unblock) // before the job's cancel, which waits for the call
	url := serve(t, metrics.Config{Engine: e})
	job1 := map[string]string{"job": "late", "job_id": job.RunID()}

	g.allow(1)
	testkit.Eventually(t, 20*time.Second, func() bool {
		return scrape(t, url).sum("troupe_async_timeouts_total", job1) == 1
	}, "the record's timeout")
	if late := scrape(t, url).series("troupe_async_late_replies_total", job1); len(late) != 1 || late[0].Counter.GetValue() != 0 {
		t.Fatalf("troupe_async_late_replies_total before the call replied: %v, want one series at 0", late)
	}
	unblock()
	testkit.Eventually(t, 20*time.Second, func() bool {
		return scrape(t, url).sum("troupe_async_late_replies_total", job1) == 1
	}, "troupe_async_late_replies_total to count the reply that came after the timeout")
}

// Checkpoint metrics count what the job's checkpoints did.
func TestHandler_checkpoints(t *testing.T) {
	e := newEngine(t, func(c *actors.Config) { c.Checkpoint.Interval = 10 * time.Millisecond })
	p := operators.NewPipeline("ck")
	src := operators.Generate(p, -1, func(i int64) int64 { return i }, operators.RateLimit(2000))
	operators.Discard(operators.Reduce(operators.KeyBy(src, func(v int64) int64 { return v % 7 }), func(a, b int64) int64 { return a + b }))
	job := submit(t, e, p)
	url := serve(t, metrics.Config{Engine: e, Jobs: func() []*actors.Job { return []*actors.Job{job} }})
	sel := map[string]string{"job_id": job.RunID()}
	var f families
	testkit.Eventually(t, 20*time.Second, func() bool {
		f = scrape(t, url)
		return f.sum("troupe_checkpoints_completed_total", sel) >= 2
	}, "two checkpoints in /metrics")
	completed := f.sum("troupe_checkpoints_completed_total", sel)
	for _, h := range []string{"troupe_checkpoint_duration_seconds", "troupe_checkpoint_size_bytes", "troupe_checkpoint_alignment_seconds",
		"troupe_checkpoint_inflight_bytes"} {
		if got := f.sum(h, sel); got != completed {
			t.Errorf("%s counts %v checkpoints, want %v", h, got, completed)
		}
	}
	if f.sum("troupe_checkpoint_last_completed_id", sel) <= 0 || f.sum("troupe_checkpoint_last_size_bytes", sel) <= 0 {
		t.Error("no last completed checkpoint id or size")
	}
}

// With unaligned checkpoints, the completed ones are counted as such
// (the sources' barriers overtake whatever waits for credit).
func TestHandler_checkpoints_unaligned(t *testing.T) {
	e := newEngine(t, func(c *actors.Config) { c.Checkpoint.Interval, c.Checkpoint.Unaligned = 10*time.Millisecond, true })
	p := operators.NewPipeline("ck-unaligned")
	src := operators.Generate(p, -1, func(i int64) int64 { return i }, operators.RateLimit(2000))
	operators.Discard(operators.Reduce(operators.KeyBy(src, func(v int64) int64 { return v % 7 }), func(a, b int64) int64 { return a + b }))
	job := submit(t, e, p)
	url := serve(t, metrics.Config{Engine: e, Jobs: func() []*actors.Job { return []*actors.Job{job} }})
	sel := map[string]string{"job_id": job.RunID()}
	var f families
	testkit.Eventually(t, 20*time.Second, func() bool {
		f = scrape(t, url)
		return f.sum("troupe_checkpoints_unaligned_total", sel) >= 2
	}, "two unaligned checkpoints in /metrics")
	if got := f.sum("troupe_checkpoint_inflight_bytes", sel); got < 2 {
		t.Errorf("troupe_checkpoint_inflight_bytes counts %v checkpoints, want the completed ones", got)
	}
}

// Node metrics show the node's view of its cluster.
func TestHandler_node(t *testing.T) {
	e := newEngine(t, nil)
	url := serve(t, metrics.Config{Engine: e, Node: func() metrics.NodeStats { return metrics.NodeStats{Members: 3, Slots: 4, SlotsUsed: 1} }})
	f := scrape(t, url)
	for name, want := range map[string]float64{"troupe_node_members": 3, "troupe_node_slots": 4, "troupe_node_slots_used": 1, "troupe_node_slots_free": 3} {
		if got := f.sum(name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

// Every metric is in docs/metrics.md, and the page names no other.
func TestNames_documented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, n := range regexp.MustCompile(`troupe_[a-z_]+[a-z]`).FindAllString(string(doc), -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} { // a histogram's series
			if base, ok := strings.CutSuffix(n, suffix); ok && slices.Contains(metrics.Names(), base) {
				n = base
			}
		}
		documented = append(documented, n)
	}
	names := metrics.Names()
	if len(names) < 30 {
		t.Fatalf("only %d metric names: %v", len(names), names)
	}
	for _, n := range names {
		if !slices.Contains(documented, n) {
			t.Errorf("%s is not in docs/metrics.md", n)
		}
	}
	for _, d := range documented {
		if !slices.Contains(names, d) {
			t.Errorf("docs/metrics.md names %s, which is no metric", d)
		}
	}
}

// The Grafana dashboard in docs/ is JSON whose queries name real metrics.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("../../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("not a dashboard: %v", err)
	}
	queries := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			queries++
			for _, n := range regexp.MustCompile(`troupe_[a-z_]+[a-z]`).FindAllString(target.Expr, -1) {
				if base, ok := strings.CutSuffix(n, "_bucket"); ok {
					n = base
				}
				if !slices.Contains(metrics.Names(), n) {
					t.Errorf("query %q names %s, which is no metric", target.Expr, n)
				}
			}
		}
	}
	if queries < 20 {
		t.Errorf("%d queries, want the dashboard's many", queries)
	}
}
