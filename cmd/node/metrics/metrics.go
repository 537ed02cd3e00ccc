package metrics

import (
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/troupe-dev/troupe/actors"
)

// Config says what a node's /metrics shows.
type Config struct {
	// Engine is the node's engine: its subtasks are exported. Required.
	Engine *actors.Engine
	// Jobs returns the jobs whose masters run on the node (the
	// coordinator's, or node run's one), running or ended: their status,
	// restarts, uptime and checkpoints are exported, an ended job's for
	// EndedJobRetention after its end. Nil: none.
	Jobs func() []*actors.Job
	// Node returns the node's view of its cluster. Nil: no node metrics
	// (node run).
	Node func() NodeStats
	// Logger receives the errors of scrapes; nil: slog.Default().
	Logger *slog.Logger
	// Now is the clock that tells when an ended job's series leave (see
	// EndedJobRetention); nil: time.Now. Tests set it.
	Now func() time.Time
}

// EndedJobRetention is how long a job's series stay after it ended: long
// enough for scrapes to see how it ended and for an alert on its status
// to fire; then they leave, as Flink closes a job's metric group when it
// ends, so that a node that runs job after job does not export more and
// more series. (A subtask's series leave with the subtask.)
const EndedJobRetention = 10 * time.Minute

// NodeStats is a node's view of its cluster.
type NodeStats struct {
	Members   int // live members, this node included
	Slots     int // this node's slots
	SlotsUsed int // of them, those its task manager uses
}

// NewHandler returns the node's /metrics handler, over a registry of its
// own that holds the node's collector and the Go runtime and process
// collectors.
func NewHandler(cfg Config) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(cfg), newGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError, // a bad metric must not hide the others
	})
}

// newGoCollector is client_golang's Go collector plus the live heap
// (go_gc_heap_live_bytes): with a memory budget the engine raises GOGC,
// so the heap in use may sit near the soft limit in normal running, and
// only the heap the last collection left live says whether the budget
// is short (docs/operations.md, "Alerts worth setting").
func newGoCollector() prometheus.Collector {
	return collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)}))
}
