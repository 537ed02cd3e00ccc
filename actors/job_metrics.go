package actors

import (
	"errors"
	"slices"
	"time"
)

// The job's views for metrics and the dashboard: its subtasks' latest
// samples (from every node), its checkpoint history and counts, its
// exceptions and its uptime. The master writes them; any goroutine
// reads them.

// maxExceptions and maxCheckpointHistory bound what a job keeps.
const (
	maxExceptions        = 32
	maxCheckpointHistory = 32
)

// sampleKey identifies a subtask across attempts: vertex and index.
type sampleKey struct{ vertex, subtask int }

// Metrics returns the latest sample of every subtask of the job's current
// attempt (once the job has ended, of its last attempt: a finished
// subtask's last sample holds its final counts), ordered by vertex and
// subtask. Empty before the first samples come (Config.MetricsInterval
// after the attempt starts) and with metrics off.
func (j *Job) Metrics() []SubtaskSample {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]SubtaskSample, 0, len(j.samples))
	for _, s := range j.samples {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b SubtaskSample) int { return compareSubtasks(a.SubtaskMetrics, b.SubtaskMetrics) })
	return out
}

// recordMetrics keeps new samples, with their rates since the previous.
func (j *Job) recordMetrics(ms []SubtaskMetrics) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.samples == nil {
		j.samples = map[sampleKey]SubtaskSample{}
	}
	for _, m := range ms {
		k := sampleKey{m.VertexID, m.Subtask}
		var prev *SubtaskMetrics
		if old, ok := j.samples[k]; ok {
			prev = &old.SubtaskMetrics
		}
		j.samples[k] = sampleOf(prev, m)
	}
}

// resetMetrics forgets the samples of the previous attempt: the new
// one's subtasks count from zero.
func (j *Job) resetMetrics() {
	j.mu.Lock()
	j.samples = nil
	j.mu.Unlock()
}

// Uptime returns how long the job's current attempt has been running
// (from when its sources started, as Flink's uptime: a restart starts it
// again); 0 while it is not running.
func (j *Job) Uptime() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state != JobRunning || j.running.IsZero() {
		return 0
	}
	return time.Since(j.running)
}

// Exception is a failure of a job: the cause of a restart, or of the
// job's end.
type Exception struct {
	Time    time.Time
	Attempt int // the attempt that failed
	// Vertex, Subtask and Node name the failing subtask (Vertex is empty
	// for a failure of no one subtask, such as a lost node or too many
	// failed checkpoints); Subtask is its index.
	Vertex  string
	Subtask int
	Node    string
	Error   string
}

// Exceptions returns the job's failures, oldest first: the last 32.
func (j *Job) Exceptions() []Exception {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.exceptions)
}

func (j *Job) addException(attempt int, err error) {
	e := Exception{Time: time.Now(), Attempt: attempt, Error: err.Error()}
	var se *SubtaskError
	if errors.As(err, &se) {
		e.Vertex, e.Subtask, e.Node = se.Vertex, se.Subtask, se.Node
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.exceptions = append(j.exceptions, e)
	if over := len(j.exceptions) - maxExceptions; over > 0 {
		j.exceptions = slices.Delete(j.exceptions, 0, over)
	}
}
