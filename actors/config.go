package actors

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// Config configures an Engine. Start from DefaultConfig.
type Config struct {
	// BatchSize is the most records in one batch on a channel. Larger
	// batches amortise the cost of a message (about 100 ns locally) over
	// more records; smaller ones lower latency and memory. Default 1024.
	BatchSize int
	// BufferTimeout bounds how long a record waits in a partly filled
	// batch before it is sent anyway, as Flink's buffer timeout does.
	// Default 10 ms.
	BufferTimeout time.Duration
	// Credits is the window of batches a receiver grants each input
	// channel. Memory in flight per channel is at most Credits × BatchSize
	// records, plus two batches at the sender (the one being filled, and
	// the one that found no credit with the rest of one record's output,
	// or of one run on the batch path: see docs/architecture.md). Zero
	// takes the default: DefaultCredits (8), or with Memory, derived for
	// each job from its channels (2 to 8).
	Credits int
	// Memory is the node's memory budget in bytes; 0 (the default): none.
	// It is applied as the Go runtime's soft memory limit
	// (runtime/debug.SetMemoryLimit, for the whole process, put back on
	// Close) and fixes, for each job when it is submitted, the settings
	// below that are left zero: a quarter of it for records in flight
	// (Credits and BatchBytes), a quarter for the bbolt backends' caches
	// (StateCacheEntries), an eighth for async I/O records in flight
	// (MaxAsyncCapacity); the rest is for state on the heap, user code
	// and the runtime. A setting given explicitly is kept, and a job
	// for which it cannot fit its share fails to submit (ErrConfig).
	// docs/operations.md gives the formula. At least 16 MiB.
	Memory int64
	// GCPercent is the garbage collector's target while the engine runs,
	// as GOGC: collect when the heap has grown by this percentage of
	// what the last collection left live. For the whole process, put
	// back on Close. Zero (the default): with Memory, DefaultGCPercent
	// (800), unless the GOGC environment variable is set, which is then
	// kept; without Memory, the runtime's own (GOGC, or 100), and where
	// nothing else tunes the collector (no GOGC, no soft limit, no other
	// engine's settings) the engine wants a heap reserve of
	// DefaultHeapReserve bytes that the collector counts live but never
	// scans (see HeapReserve; setting GCPercent, even to 100, leaves the
	// collector wholly to it, and takes the reserve away from the whole
	// process while the engine runs). GCOff
	// (-1) collects only as the heap nears Memory, which it needs. With
	// Memory the soft limit bounds the heap at any GCPercent: a larger
	// one trades memory the budget allows for fewer collections. At
	// most math.MaxInt32, as the runtime takes. With several engines in
	// one process, the soft limit and the target are those of the latest
	// started that still runs, and the process's own once none does.
	GCPercent int
	// BatchBytes caps a batch in bytes as well as in records: a batch
	// holds at most BatchBytes of records, counted at the size of the
	// stream's record type (its Go value, not what it points to). It is
	// also the remote fragment size when Remote.BatchBytes is zero. Zero:
	// no cap, or with Memory, Memory / 2048 within 4 KiB to 1 MiB,
	// lowered for a job with many channels.
	BatchBytes int
	// StateCacheEntries bounds the cache of decoded entries of each
	// keyed subtask's bbolt backend. Zero: persistence.DefaultCacheEntries,
	// or with Memory, a quarter of it over the job's keyed subtasks at
	// 256 bytes an entry.
	StateCacheEntries int
	// MaxAsyncCapacity is the most records each subtask's async I/O
	// operator may have in flight: a default AsyncConfig.Capacity is
	// lowered to it, and a job with a larger Capacity set by its
	// pipeline fails to submit. Zero: no ceiling, or with Memory, an
	// eighth of it over the job's async subtasks at 1 KiB a record.
	MaxAsyncCapacity int
	// Restart decides what happens when a subtask fails. nil (as in
	// DefaultConfig) takes the default when the engine starts: no restart
	// (the job fails) without checkpointing; with checkpointing,
	// ExponentialDelay(1 s, 1 min, 1.5, 0.1), as in Flink.
	Restart RestartStrategy
	// OnRestart, if set, is called each time a job is deployed again
	// after a failure, with the cause and the checkpoint the new attempt
	// restores (the command line prints it). It runs on the job master's
	// goroutine, so it must return quickly and must not wait for the job.
	// Default nil.
	OnRestart func(RestartInfo)
	// Logger receives the runtime's logs (Proto.Actor's included); nil
	// means warnings and errors as text on standard error.
	Logger *slog.Logger
	// OwnerReportsFailures says that whoever submits the jobs reports
	// their restarts (OnRestart) and failures (Job.Wait) itself, as node
	// run does on standard error: the engine then logs a job's failures
	// and restarts at debug level rather than as errors and warnings, so
	// that each is reported once. Default false: they are logged.
	OwnerReportsFailures bool
	// Checkpoint configures checkpoints; off by default.
	Checkpoint CheckpointConfig
	// Faults, for tests only, is called at the points where failures can
	// be injected (testkit's pipeline runner sets it). Default nil.
	Faults operators.FaultInjector
	// StateBackend is where keyed operators keep their state:
	// operators.StateBackendHeap ("heap", also when empty; the default)
	// or operators.StateBackendBolt ("bbolt", for state larger than
	// memory). Snapshots are the same with both.
	StateBackend string
	// StateDir is the directory of the bbolt backend's files, one per
	// keyed subtask and attempt under StateDir/<job>/, removed when the
	// subtask stops; required with "bbolt". State is recovered from
	// checkpoints, never from these files.
	StateDir string
	// Remote, when set, starts Proto.Actor remote so that jobs can run
	// across nodes (see Engine.StartTaskManager, WithPlacer). Nil: one
	// process, no network (the default).
	Remote *RemoteConfig
	// MetricsInterval is how often the counters of each subtask are
	// sampled (Engine.SubtaskMetrics, Job.Metrics): a node's /metrics
	// and a job's rates are at most this old. Zero takes the default,
	// 1 s; a negative interval turns metrics off, and subtasks count
	// nothing.
	MetricsInterval time.Duration
}

// DefaultConfig returns the defaults documented on Config's fields. It
// leaves Restart nil, so that NewEngine picks the default strategy for the
// checkpointing the caller sets afterwards.
func DefaultConfig() Config {
	return Config{BatchSize: 1024, BufferTimeout: 10 * time.Millisecond, MetricsInterval: time.Second}
}

// QuietLogger discards every log record (for tests and benchmarks).
func QuietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (c *Config) validate() error {
	switch {
	case c.BatchSize < 1:
		return fmt.Errorf("%w: BatchSize %d must be at least 1", ErrConfig, c.BatchSize)
	case c.BufferTimeout <= 0:
		return fmt.Errorf("%w: BufferTimeout %v must be positive", ErrConfig, c.BufferTimeout)
	case c.Credits < 0:
		return fmt.Errorf("%w: Credits %d must not be negative", ErrConfig, c.Credits)
	}
	if err := c.validateMemory(); err != nil {
		return err
	}
	if err := c.validateGC(); err != nil {
		return err
	}
	if c.Credits == 0 && c.Memory == 0 {
		c.Credits = DefaultCredits
	}
	switch c.StateBackend {
	case "", operators.StateBackendHeap:
	case operators.StateBackendBolt:
		if c.StateDir == "" {
			return fmt.Errorf("%w: StateDir is empty, required by StateBackend %q", ErrConfig, c.StateBackend)
		}
	default:
		return fmt.Errorf("%w: StateBackend %q, want %q or %q", ErrConfig, c.StateBackend,
			operators.StateBackendHeap, operators.StateBackendBolt)
	}
	if err := c.Checkpoint.validate(); err != nil {
		return err
	}
	if c.Remote != nil {
		r := *c.Remote // the caller's stays as given
		switch {
		case r.BatchBytes != 0:
		case c.BatchBytes > 0:
			r.BatchBytes = c.BatchBytes
		case c.Memory > 0:
			r.BatchBytes = budget{c.Memory}.batchBytes()
		}
		if err := r.validate(); err != nil {
			return err
		}
		c.Remote = &r
	}
	switch {
	case c.Restart == nil && c.Checkpoint.enabled():
		c.Restart = ExponentialDelay(time.Second, time.Minute, 1.5, 0.1)
	case c.Restart == nil:
		c.Restart = NoRestart()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if c.MetricsInterval == 0 {
		c.MetricsInterval = time.Second
	}
	return nil
}
