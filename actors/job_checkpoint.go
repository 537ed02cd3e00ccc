package actors

import (
	"context"
	"fmt"
)

// Checkpoint describes the latest complete checkpoint of a job.
type Checkpoint struct {
	ID   int64
	Path string // where the store keeps it; for a savepoint, what to restore from
}

// LatestCheckpoint returns the job's latest complete checkpoint, and false
// if none has completed yet.
func (j *Job) LatestCheckpoint() (Checkpoint, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.latest, j.latest.ID > 0
}

func (j *Job) setCheckpoint(c Checkpoint) {
	j.mu.Lock()
	j.latest = c
	j.mu.Unlock()
}

// Savepoint takes a savepoint of the running job: a checkpoint the user
// keeps, to restore the job later (possibly at another parallelism). It
// returns the savepoint's path once its metadata is durable: the
// savepoint is then complete and restorable, also if a newer checkpoint
// completed first or the job ended while its metadata was being written.
// Otherwise it returns an error wrapping ErrSavepoint: the savepoint timed
// out, a subtask declined it, its metadata could not be written, the job
// restarted or ended before that, the job is not running, or a stop with
// savepoint is under way. It always returns, at the latest when ctx is
// done. Retention never removes a savepoint. Savepoints run beside the
// periodic checkpoints, are never subsumed by them, and their failures do
// not count against Checkpoint.TolerableFailures.
func (j *Job) Savepoint(ctx context.Context) (string, error) { return j.savepoint(ctx, false) }

func (j *Job) savepoint(ctx context.Context, stop bool) (string, error) {
	reply := make(chan savepointResult, 1)
	msg := &savepointMsg{reply: reply, stop: stop}
	j.engine.sys.Root.Send(j.master, msg)
	select {
	case r := <-reply:
		return r.path, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	case <-j.done:
	}
	// The job ended. A request the master took is answered: by the
	// master as the job ended, or by its metadata writer once the store
	// answers a commit the job's end left under way (the job's end never
	// waits for the store). One it never took is not.
	if !msg.taken.Load() {
		select {
		case r := <-reply:
			return r.path, r.err
		default:
			return "", fmt.Errorf("%w: the job ended", ErrSavepoint)
		}
	}
	select {
	case r := <-reply:
		return r.path, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// StopWithSavepoint takes a savepoint and then stops the job, so that it
// can be resumed from the savepoint with no record lost or repeated. As
// in Flink, the stop is synchronous: once the savepoint is complete every
// subtask is told so and commits up to it (two-phase-commit sinks commit
// its epochs), and only then is the job stopped; StopWithSavepoint
// returns the path after that, with the job ended as cancelled. Nothing
// is committed past the savepoint: periodic checkpoints are suspended
// before it is triggered, other savepoints are refused meanwhile, and a
// job whose sources finish meanwhile does not take its final checkpoint
// or make its final commit until the savepoint's outcome is known. A
// failure after the savepoint completed stops the job all the same (a
// run restored from the savepoint commits what was left). If the
// savepoint fails (see Savepoint), the job is not stopped: periodic
// checkpoints resume, the job keeps running (or, if it finished
// meanwhile, finishes), and the error is returned, as in Flink.
func (j *Job) StopWithSavepoint(ctx context.Context) (string, error) {
	path, err := j.savepoint(ctx, true)
	if err != nil {
		return "", err
	}
	j.Cancel()
	return path, nil
}

// inspect runs fn on the job master's goroutine, between two of its
// messages, and returns once it has run (or the job has ended): tests use
// it to read the master's state without a race.
func (j *Job) inspect(fn func(m *master)) {
	done := make(chan struct{})
	j.engine.sys.Root.Send(j.master, &inspectMsg{fn: fn, done: done})
	select {
	case <-done:
	case <-j.done:
	}
}
