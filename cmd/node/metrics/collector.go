package metrics

import (
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// The label names; see the package documentation.
var (
	subtaskLabels = []string{"job", "job_id", "operator", "subtask"}
	asyncLabels   = []string{"job", "job_id", "operator", "subtask", "async"}
	jobLabels     = []string{"job", "job_id"}
)

// metric is one exported metric: its descriptor and type, and how to
// read its value. Those of a subtask, an async operator, a job or the
// node differ in what they read.
type metric[T any] struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(T) (float64, bool) // false: no value now (the series is left out)
}

func counter[T any](labels []string, name, help string, v func(T) float64) *metric[T] {
	return &metric[T]{desc: prometheus.NewDesc(name, help, labels, nil), kind: prometheus.CounterValue, value: always(v)}
}

func gauge[T any](labels []string, name, help string, v func(T) float64) *metric[T] {
	return &metric[T]{desc: prometheus.NewDesc(name, help, labels, nil), kind: prometheus.GaugeValue, value: always(v)}
}

// gaugeIf is a gauge with a value only sometimes, such as a watermark.
func gaugeIf[T any](labels []string, name, help string, v func(T) (float64, bool)) *metric[T] {
	return &metric[T]{desc: prometheus.NewDesc(name, help, labels, nil), kind: prometheus.GaugeValue, value: v}
}

func always[T any](v func(T) float64) func(T) (float64, bool) {
	return func(t T) (float64, bool) { return v(t), true }
}

func (m *metric[T]) collect(ch chan<- prometheus.Metric, t T, labels ...string) {
	if v, ok := m.value(t); ok {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, v, labels...)
	}
}

// histogram is one exported histogram.
type histogram[T any] struct {
	desc  *prometheus.Desc
	value func(T) actors.Histogram
}

func newHistogram[T any](labels []string, name, help string, v func(T) actors.Histogram) *histogram[T] {
	return &histogram[T]{desc: prometheus.NewDesc(name, help, labels, nil), value: v}
}

func (h *histogram[T]) collect(ch chan<- prometheus.Metric, t T, labels ...string) {
	v := h.value(t)
	buckets := make(map[float64]uint64, len(v.Bounds))
	var cum uint64
	for i, b := range v.Bounds {
		cum += v.Counts[i]
		buckets[b] = cum
	}
	ch <- prometheus.MustNewConstHistogram(h.desc, v.Count, v.Sum, buckets, labels...)
}

// collector turns a node's samples and jobs into metrics at each scrape.
type collector struct {
	cfg Config
}

func newCollector(cfg Config) *collector {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &collector{cfg: cfg}
}

// Describe sends every metric's descriptor.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs() {
		ch <- d
	}
}

func allDescs() []*prometheus.Desc {
	var out []*prometheus.Desc
	for _, m := range subtaskMetrics {
		out = append(out, m.desc)
	}
	for _, m := range asyncMetrics {
		out = append(out, m.desc)
	}
	out = append(out, asyncLatency.desc, jobStatus)
	for _, m := range jobMetrics {
		out = append(out, m.desc)
	}
	for _, h := range checkpointHistograms {
		out = append(out, h.desc)
	}
	for _, m := range nodeMetrics {
		out = append(out, m.desc)
	}
	return out
}

// Collect reads the samples of the node's subtasks, its jobs and its
// view of the cluster.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.cfg.Engine.SubtaskMetrics() {
		collectSubtask(ch, s)
	}
	if c.cfg.Jobs != nil {
		now := c.cfg.Now()
		for _, j := range c.cfg.Jobs() {
			if ended := j.Ended(); ended.IsZero() || now.Sub(ended) <= EndedJobRetention {
				collectJob(ch, j)
			}
		}
	}
	if c.cfg.Node != nil {
		n := c.cfg.Node()
		for _, m := range nodeMetrics {
			m.collect(ch, n)
		}
	}
}

func collectSubtask(ch chan<- prometheus.Metric, s actors.SubtaskMetrics) {
	labels := []string{s.Job, s.Run, s.Vertex, strconv.Itoa(s.Subtask)}
	for _, m := range subtaskMetrics {
		m.collect(ch, s, labels...)
	}
	for _, a := range s.Async {
		al := append(labels[:len(labels):len(labels)], a.Operator)
		for _, m := range asyncMetrics {
			m.collect(ch, a.AsyncStats, al...)
		}
		asyncLatency.collect(ch, a.AsyncStats, al...)
	}
}

// jobStates are the values of troupe_job_status's status label.
var jobStates = []actors.JobState{actors.JobCreated, actors.JobRunning, actors.JobRestarting,
	actors.JobFinished, actors.JobFailed, actors.JobCancelled}

// jobView is what a scrape reads of a job, once.
type jobView struct {
	state       actors.JobState
	restarts    int
	uptime      float64
	checkpoints actors.CheckpointSummary
}

func collectJob(ch chan<- prometheus.Metric, j *actors.Job) {
	v := jobView{state: j.State(), restarts: j.Restarts(), uptime: j.Uptime().Seconds(), checkpoints: j.Checkpoints()}
	labels := []string{j.Name(), j.RunID()}
	for _, st := range jobStates {
		one := 0.0
		if st == v.state {
			one = 1
		}
		ch <- prometheus.MustNewConstMetric(jobStatus, prometheus.GaugeValue, one, j.Name(), j.RunID(), st.String())
	}
	for _, m := range jobMetrics {
		m.collect(ch, v, labels...)
	}
	for _, h := range checkpointHistograms {
		h.collect(ch, v, labels...)
	}
}

// watermarkSeconds is a watermark as Unix seconds, if there is one.
func watermarkSeconds(wm int64) (float64, bool) {
	if wm == operators.MinWatermark || wm == operators.MaxWatermark {
		return 0, false
	}
	return float64(wm) / 1000, true
}

// asyncLatencyHistogram is an async operator's latency histogram in
// seconds.
func asyncLatencyHistogram(a operators.AsyncStats) actors.Histogram {
	h := actors.Histogram{Bounds: asyncBounds, Counts: make([]uint64, len(a.Latency.Counts)),
		Count: uint64(a.Latency.Count), Sum: a.Latency.Sum.Seconds()}
	for i, n := range a.Latency.Counts {
		h.Counts[i] = uint64(n)
	}
	return h
}

var asyncBounds = func() []float64 {
	out := make([]float64, len(operators.AsyncLatencyBuckets))
	for i, d := range operators.AsyncLatencyBuckets {
		out[i] = d.Seconds()
	}
	return out
}()

// fqName finds a metric's name in its descriptor's description.
var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names returns the names of the metrics the package exports (those of
// the Go runtime and process collectors aside), sorted; docs/metrics.md
// lists them.
func Names() []string {
	var out []string
	for _, d := range allDescs() {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}
