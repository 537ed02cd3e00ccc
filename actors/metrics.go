package actors

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// Metrics: every subtask counts what it does in plain fields of its own
// (subtaskMeter, touched only by its actor). Every Config.MetricsInterval
// its job agent asks each of its subtasks for a sample (one request in
// a subtask's mailbox at a time), keeps the latest in the engine's
// table, which a node's /metrics reads (Engine.SubtaskMetrics), and
// sends them to the job master (wire.AgentMetrics), which keeps the
// job's view with rates (Job.Metrics), whatever node the agent is on. A
// subtask that finishes sends its last sample before it reports, so the
// job's view ends with its final counts.

// SubtaskMetrics is what one subtask of one attempt has done since it was
// deployed, as sampled at At.
type SubtaskMetrics struct {
	Job      string // the job's (pipeline's) name
	Run      string // the job run's id
	Vertex   string // the vertex's name: its operators joined by " -> "
	VertexID int
	Subtask  int    // the subtask's index in its vertex
	Attempt  int    // the job's attempt that deployed it
	Node     string // the node that runs it ("" in a single process)
	// Started is when the subtask was deployed, At when it was sampled.
	Started, At time.Time
	// RecordsIn and RecordsOut count the records the subtask took from
	// its input channels and shipped to its output channels; BatchesIn
	// and BatchesOut the batches that carried them.
	RecordsIn, RecordsOut int64
	BatchesIn, BatchesOut int64
	// RemoteBytesIn and RemoteBytesOut count the encoded record bytes
	// received from and sent to subtasks on other nodes.
	RemoteBytesIn, RemoteBytesOut int64
	// Source and Sink say whether the subtask's chain begins with a
	// source and ends with a sink. SourceRecords counts the records the
	// source read, and SinkRecords those the sink wrote.
	Source, Sink               bool
	SourceRecords, SinkRecords int64
	// LateRecordsDropped counts records too late for every window (or
	// below an interval join's watermark) that no late side output took.
	LateRecordsDropped int64
	// MailboxLen is how many messages waited in the subtask's mailbox.
	MailboxLen int64
	// Busy, Idle and Backpressured split the time since Started: idle is
	// waiting for input, backpressured is output waiting for credit from
	// downstream, busy is the rest (as Flink's busyTimeMsPerSecond,
	// idleTimeMsPerSecond and backPressuredTimeMsPerSecond).
	Busy, Idle, Backpressured time.Duration
	// InputWatermark is the subtask's input watermark (the minimum over
	// its active input channels), OutputWatermark the last watermark it
	// emitted; both in milliseconds of event time, operators.MinWatermark
	// before the first.
	InputWatermark, OutputWatermark int64
	// Async holds the counters of the chain's async I/O operators.
	Async []AsyncMetrics
}

// AsyncMetrics are the counters of one async I/O operator of a subtask.
type AsyncMetrics struct {
	Operator string // the async operator's name
	operators.AsyncStats
}

// WatermarkLag returns how far the subtask's event time is behind the
// processing time of the sample: At minus the input watermark (the output
// watermark for a source, which has no input); ok is false before the
// first watermark and after the last (end of input).
func (m SubtaskMetrics) WatermarkLag() (lag time.Duration, ok bool) {
	wm := m.InputWatermark
	if wm == operators.MinWatermark {
		wm = m.OutputWatermark
	}
	if wm == operators.MinWatermark || wm == operators.MaxWatermark {
		return 0, false
	}
	return m.At.Sub(time.UnixMilli(wm)), true
}

// SubtaskSample is a subtask's latest SubtaskMetrics in a job's view,
// with rates over the interval since its previous sample (zero for the
// first sample of an attempt).
type SubtaskSample struct {
	SubtaskMetrics
	RecordsInPerSecond, RecordsOutPerSecond float64
	// Busy, Idle and Backpressured are fractions of the interval, from 0
	// to 1 (Flink's ...TimeMsPerSecond divided by 1000).
	BusyRatio, IdleRatio, BackpressuredRatio float64
}

// sampleOf returns cur with its rates since prev, which must be a sample
// of the same subtask and attempt taken before (else the rates are zero).
func sampleOf(prev *SubtaskMetrics, cur SubtaskMetrics) SubtaskSample {
	s := SubtaskSample{SubtaskMetrics: cur}
	if prev == nil || prev.Attempt != cur.Attempt || !cur.At.After(prev.At) {
		return s
	}
	dt := cur.At.Sub(prev.At)
	perSecond := func(a, b int64) float64 { return float64(max(b-a, 0)) / dt.Seconds() }
	ratio := func(a, b time.Duration) float64 { return min(max(float64(b-a)/float64(dt), 0), 1) }
	s.RecordsInPerSecond = perSecond(prev.RecordsIn, cur.RecordsIn)
	s.RecordsOutPerSecond = perSecond(prev.RecordsOut, cur.RecordsOut)
	s.IdleRatio = ratio(prev.Idle, cur.Idle)
	s.BackpressuredRatio = ratio(prev.Backpressured, cur.Backpressured)
	s.BusyRatio = max(1-s.IdleRatio-s.BackpressuredRatio, 0)
	return s
}

// metricsTable holds the latest samples of the subtasks an engine runs,
// by agent, for the node's /metrics. It is safe for concurrent use.
type metricsTable struct {
	mu      sync.Mutex
	byAgent map[string][]SubtaskMetrics // by the agent's PID id
}

func (t *metricsTable) put(agent string, samples []SubtaskMetrics) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byAgent == nil {
		t.byAgent = map[string][]SubtaskMetrics{}
	}
	t.byAgent[agent] = samples
}

func (t *metricsTable) remove(agent string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byAgent, agent)
}

// all returns one sample per subtask of a run: the newest attempt's. An
// engine may run two attempts of a run at once for a while — the agents
// of an attempt given up on (its node thought lost, or the job's lease
// lost) still stopping while the next attempt deploys — and the labels
// of a subtask's series (job, run, vertex, subtask) do not tell attempts
// apart, so two samples would be two series under one label set, which
// Prometheus refuses.
func (t *metricsTable) all() []SubtaskMetrics {
	t.mu.Lock()
	defer t.mu.Unlock()
	type key struct {
		run             string
		vertex, subtask int
	}
	newest := map[key]SubtaskMetrics{}
	for _, samples := range t.byAgent {
		for _, s := range samples {
			k := key{s.Run, s.VertexID, s.Subtask}
			if old, ok := newest[k]; !ok || s.Attempt > old.Attempt {
				newest[k] = s
			}
		}
	}
	return slices.SortedFunc(maps.Values(newest), compareSubtasks)
}

// compareSubtasks orders samples by run, vertex and subtask.
func compareSubtasks(a, b SubtaskMetrics) int {
	return cmp.Or(strings.Compare(a.Run, b.Run), cmp.Compare(a.VertexID, b.VertexID), cmp.Compare(a.Subtask, b.Subtask))
}

// SubtaskMetrics returns the latest samples of the subtasks that run on
// this engine now, of every job (wherever its master is), ordered by
// run, vertex and subtask: one per subtask, of the newest attempt that
// runs here (see metricsTable.all). A node's /metrics exports them.
// Samples are at most Config.MetricsInterval old; none with metrics off.
func (e *Engine) SubtaskMetrics() []SubtaskMetrics { return e.metrics.all() }
