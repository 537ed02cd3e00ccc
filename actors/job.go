package actors

import (
	"context"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/mailbox"
)

// JobState is where a job is in its lifecycle:
// created → running → finished | failed | cancelled (running may pass
// through restarting and back when the restart strategy allows).
type JobState int

const (
	JobCreated JobState = iota
	JobRunning
	JobRestarting
	JobFinished
	JobFailed
	JobCancelled
)

func (s JobState) String() string {
	return [...]string{"created", "running", "restarting", "finished", "failed", "cancelled"}[s]
}

// Terminal reports whether the job has ended.
func (s JobState) Terminal() bool { return s >= JobFinished }

// Job is the handle of a submitted job. Its methods are safe for concurrent
// use.
type Job struct {
	name   string
	run    string // the run's id, set by Submit
	engine *Engine
	master *actor.PID
	done   chan struct{}
	// checkpointing: the job has a checkpoint coordinator (set at
	// submission, never changed); see Checkpointing.
	checkpointing bool

	mu        sync.Mutex
	state     JobState
	err       error
	restarts  int
	mailboxes []MailboxInfo
	latest    Checkpoint
	placement []VertexPlacement
	failure   error
	running   time.Time // when the current attempt started running
	ended     time.Time // when the job ended; zero before
	// the views of job_metrics.go and job_checkpoint_stats.go
	samples     map[sampleKey]SubtaskSample
	exceptions  []Exception
	checkpoints checkpointCounts
}

// MailboxInfo describes one subtask's mailbox: the bound that credit flow
// control guarantees, the capacity of the bounded mailbox, and its counts.
type MailboxInfo struct {
	Subtask  string
	Bound    int
	Capacity int
	stats    *mailbox.Stats
}

// Stats returns the mailbox's statistics now. Capacity is 0 for the
// unbounded mailbox of a subtask with inputs from other nodes.
func (m MailboxInfo) Stats() mailbox.Snapshot { return m.stats.Snapshot() }

// Checkpointing reports whether the job takes checkpoints: it was
// submitted with checkpoints on (Config.Checkpoint.Interval), or restored
// from a checkpoint or savepoint. Only such a job can take savepoints;
// Savepoint fails at once for any other.
func (j *Job) Checkpointing() bool { return j.checkpointing }

// Name returns the job's (pipeline's) name.
func (j *Job) Name() string { return j.name }

// State returns the job's current state.
func (j *Job) State() JobState {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state
}

// Restarts returns how many times the job was restarted after a failure.
func (j *Job) Restarts() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.restarts
}

// Done is closed when the job has ended and all its actors have stopped.
func (j *Job) Done() <-chan struct{} { return j.done }

// Wait blocks until the job ends or ctx is done. It returns nil when the
// job finished, ErrCancelled when it was cancelled, or the failure (a
// *SubtaskError naming the operator and subtask).
func (j *Job) Wait(ctx context.Context) error {
	select {
	case <-j.done:
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Cancel stops every subtask at once (in-flight records are dropped) and
// waits until all have stopped. Cancelling an ended job does nothing.
func (j *Job) Cancel() {
	j.engine.sys.Root.Send(j.master, &cancelMsg{})
	<-j.done
}

// Stop ends the job gracefully: sources end as if their input were
// exhausted, everything in flight is processed, and the job finishes. It
// does not wait; use Wait.
func (j *Job) Stop() { j.engine.sys.Root.Send(j.master, &stopSourceMsg{}) }

// Mailboxes returns the mailboxes of the current attempt's subtasks.
func (j *Job) Mailboxes() []MailboxInfo {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]MailboxInfo(nil), j.mailboxes...)
}

func (j *Job) setState(s JobState) {
	j.mu.Lock()
	j.state = s
	switch s {
	case JobRunning:
		j.running = time.Now()
	case JobRestarting:
		j.restarts++
		j.running = time.Time{}
	}
	j.mu.Unlock()
}

// RunningSince returns when the current attempt started running: every
// subtask deployed on its node and wired, the sources told to start.
// It is zero while the job deploys or restarts; once the job has ended,
// it is when its last attempt started (zero if none did).
func (j *Job) RunningSince() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.running
}

// Ended returns when the job ended (finished, failed or was cancelled);
// zero while it runs.
func (j *Job) Ended() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ended
}

// Failure returns the cause of the job's latest restart, or of its
// failure once it has failed; nil if it never failed.
func (j *Job) Failure() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failure
}

func (j *Job) setFailure(err error) {
	j.mu.Lock()
	j.failure = err
	j.mu.Unlock()
}

func (j *Job) setMailboxes(m []MailboxInfo) {
	j.mu.Lock()
	j.mailboxes = m
	j.mu.Unlock()
}

// complete records the outcome; called once by the master. The engine
// forgets the job before Done closes, so that a job waited for no longer
// holds its run (ContinueRun may submit it again at once).
func (j *Job) complete(s JobState, err error) {
	j.mu.Lock()
	j.state, j.err, j.ended = s, err, time.Now()
	j.mu.Unlock()
	j.engine.forget(j)
	close(j.done)
}
