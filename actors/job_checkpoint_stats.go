package actors

import (
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/barrier"
)

// CheckpointStatus is how a checkpoint ended.
type CheckpointStatus string

const (
	// CheckpointCompleted: its metadata is durable; it can be restored.
	CheckpointCompleted CheckpointStatus = "completed"
	// CheckpointFailed: it timed out, a subtask declined it, or its
	// state or metadata could not be written.
	CheckpointFailed CheckpointStatus = "failed"
	// CheckpointAborted: no fault of its own — a newer checkpoint
	// completed first (subsumed), or the job restarted or ended.
	CheckpointAborted CheckpointStatus = "aborted"
)

// CheckpointStats describes one checkpoint or savepoint that ended.
type CheckpointStats struct {
	ID        int64
	Savepoint bool
	Status    CheckpointStatus
	Triggered time.Time
	// Duration is from the trigger to its end: for a completed one, its
	// metadata durable.
	Duration time.Duration
	// Size is the bytes of state stored by all its subtasks, Alignment
	// the longest time one of them waited for barriers on all its
	// inputs; both zero for one that did not get that far.
	Size      int64
	Alignment time.Duration
	// Unaligned says that some subtask took it unaligned: a barrier of it
	// overtook in-flight data (unaligned checkpoints, or an alignment
	// that timed out). InFlight is the bytes of records it persisted as
	// in-flight data (Flink's "persisted in-flight data"), part of Size.
	Unaligned bool
	InFlight  int64
	Path      string // where a completed one is stored
	Failure   string // why it failed or was aborted
}

// CheckpointSummary is a job's checkpointing so far.
type CheckpointSummary struct {
	// Completed and Failed count checkpoints and savepoints (aborted ones
	// are neither); InProgress those pending now. Unaligned counts the
	// completed ones some subtask took unaligned.
	Completed, Failed int64
	InProgress        int
	Unaligned         int64
	// Latest is the completed one with the highest id; nil before the
	// first.
	Latest *CheckpointStats
	// History holds the last 32 that ended, oldest first.
	History []CheckpointStats
	// StateSizes holds, by vertex ID, the bytes of state that vertex's
	// subtasks stored in the latest completed checkpoint.
	StateSizes map[int]int64
	// Durations, Sizes and Alignments are histograms over the completed
	// ones, in seconds, bytes and seconds; InFlight over their persisted
	// in-flight data, in bytes (zero for an aligned one).
	Durations, Sizes, Alignments, InFlight Histogram
}

// Histogram counts observations in buckets, as a Prometheus histogram:
// Counts[i] counts values v with Bounds[i-1] < v ≤ Bounds[i], the last
// count those above every bound (not cumulative).
type Histogram struct {
	Bounds []float64 // ascending; shared, not to be modified
	Counts []uint64  // len(Bounds)+1
	Count  uint64
	Sum    float64
}

// The buckets of a job's checkpoint histograms.
var (
	checkpointSecondBounds = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	checkpointByteBounds   = []float64{1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22, 1 << 24,
		1 << 26, 1 << 28, 1 << 30, 1 << 32, 1 << 34}
	alignmentSecondBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
)

func newHistogram(bounds []float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds)+1)}
}

func (h *Histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.Bounds, v) // the first bound ≥ v
	h.Counts[i]++
	h.Count++
	h.Sum += v
}

func (h Histogram) clone() Histogram {
	h.Counts = slices.Clone(h.Counts)
	return h
}

// checkpointCounts is the job's record behind Checkpoints; the zero
// value is ready.
type checkpointCounts struct {
	completed, failed int64
	inProgress        int
	unaligned         int64
	latest            *CheckpointStats
	history           []CheckpointStats
	stateSizes        map[int]int64
	durations         Histogram
	sizes             Histogram
	alignments        Histogram
	inflight          Histogram
}

// Checkpoints returns the job's checkpoint counts, history and
// histograms.
func (j *Job) Checkpoints() CheckpointSummary {
	j.mu.Lock()
	defer j.mu.Unlock()
	c := &j.checkpoints
	c.init()
	var latest *CheckpointStats
	if c.latest != nil {
		l := *c.latest
		latest = &l
	}
	return CheckpointSummary{Completed: c.completed, Failed: c.failed, InProgress: c.inProgress, Unaligned: c.unaligned,
		Latest: latest, History: slices.Clone(c.history), StateSizes: maps.Clone(c.stateSizes),
		Durations: c.durations.clone(), Sizes: c.sizes.clone(), Alignments: c.alignments.clone(), InFlight: c.inflight.clone()}
}

func (c *checkpointCounts) init() {
	if c.durations.Counts == nil {
		c.durations = newHistogram(checkpointSecondBounds)
		c.sizes = newHistogram(checkpointByteBounds)
		c.alignments = newHistogram(alignmentSecondBounds)
		c.inflight = newHistogram(checkpointByteBounds)
	}
}

// recordCheckpoint adds one that ended; stateSizes, by vertex ID, for a
// completed one.
func (j *Job) recordCheckpoint(s CheckpointStats, stateSizes map[int]int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	c := &j.checkpoints
	c.init()
	switch s.Status {
	case CheckpointCompleted:
		c.completed++
		c.durations.observe(s.Duration.Seconds())
		c.sizes.observe(float64(s.Size))
		c.alignments.observe(s.Alignment.Seconds())
		c.inflight.observe(float64(s.InFlight))
		if s.Unaligned {
			c.unaligned++
		}
		if c.latest == nil || s.ID > c.latest.ID {
			c.latest, c.stateSizes = &s, stateSizes
		}
	case CheckpointFailed:
		c.failed++
	}
	c.history = append(c.history, s)
	if over := len(c.history) - maxCheckpointHistory; over > 0 {
		c.history = slices.Delete(c.history, 0, over)
	}
}

func (j *Job) setCheckpointsInProgress(n int) {
	j.mu.Lock()
	j.checkpoints.inProgress = n
	j.mu.Unlock()
}

// abortStatus sorts an aborted checkpoint: subsumed by a newer one, or
// given up with its attempt, is no failure of its own.
func abortStatus(reason error) CheckpointStatus {
	if errors.Is(reason, barrier.ErrSubsumed) || errors.Is(reason, barrier.ErrReset) {
		return CheckpointAborted
	}
	return CheckpointFailed
}

// checkpointSizes is what the acks of one checkpoint said, kept from its
// metadata write to its end.
type checkpointSizes struct {
	total     int64
	alignment time.Duration // the longest
	byVertex  map[int]int64
	inflight  int64 // bytes of records in flight, part of total
	unaligned bool  // some subtask took it unaligned
}
