package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/troupe-dev/troupe/actors"
)

// job is what await needs of an *actors.Job.
type job interface {
	Done() <-chan struct{}
	Stop()
	Cancel()
	StopWithSavepoint(ctx context.Context) (string, error)
	Wait(ctx context.Context) error
}

var _ job = (*actors.Job)(nil)

// await waits for j to end. The first signal stops it, with a savepoint if
// savepoint is set, else gracefully; the second cancels it. It returns the
// savepoint's path if the job stopped with one, and the job's outcome (see
// actors.Job.Wait).
func (c *command) await(j job, signals <-chan os.Signal, savepoint bool) (string, error) {
	select {
	case <-j.Done():
	case s := <-signals:
		if savepoint {
			if path, ok := c.stopWithSavepoint(j, s, signals); ok {
				return path, nil
			}
			break
		}
		fmt.Fprintf(c.stderr, "%s: %v: stopping the job gracefully; signal again to cancel it\n", c.prog, s)
		j.Stop()
		c.cancelOnSignal(j, signals)
	}
	return "", j.Wait(context.Background()) // the job has ended: no wait
}

// cancelOnSignal waits for j to end, cancelling it at the next signal.
func (c *command) cancelOnSignal(j job, signals <-chan os.Signal) {
	select {
	case <-j.Done():
	case s := <-signals:
		fmt.Fprintf(c.stderr, "%s: %v: cancelling the job\n", c.prog, s)
		j.Cancel()
		<-j.Done()
	}
}

// savepointAttempts is how often a stop tries to take its savepoint: a
// savepoint can fail for passing reasons (a checkpoint timing out, a
// storage hiccup) while the job runs on.
const savepointAttempts = 3

// stopWithSavepoint takes a savepoint and cancels the job, printing the
// savepoint's path; a second signal cancels the job at once. If every
// attempt fails, the job is stopped gracefully instead. It reports
// whether the job stopped with a savepoint, after it has ended.
func (c *command) stopWithSavepoint(j job, s os.Signal, signals <-chan os.Signal) (string, bool) {
	fmt.Fprintf(c.stderr, "%s: %v: stopping the job with a savepoint; signal again to cancel it\n", c.prog, s)
	for attempt := 1; ; attempt++ {
		path, cancelled, err := c.trySavepoint(j, signals)
		switch {
		case cancelled:
			return "", false
		case err == nil:
			fmt.Fprintf(c.stderr, "%s: savepoint %s\n", c.prog, path)
			<-j.Done()
			return path, true
		case attempt < savepointAttempts && !ended(j):
			fmt.Fprintf(c.stderr, "%s: savepoint failed: %v; trying again\n", c.prog, err)
			continue
		}
		fmt.Fprintf(c.stderr, "%s: savepoint failed: %v; stopping the job gracefully instead\n", c.prog, err)
		j.Stop()
		c.cancelOnSignal(j, signals)
		return "", false
	}
}

// trySavepoint runs one stop with savepoint; a signal meanwhile cancels
// the job (and reports cancelled once it has ended).
func (c *command) trySavepoint(j job, signals <-chan os.Signal) (path string, cancelled bool, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		path string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		path, err := j.StopWithSavepoint(ctx)
		done <- result{path, err}
	}()
	select {
	case r := <-done:
		return r.path, false, r.err
	case s := <-signals:
		fmt.Fprintf(c.stderr, "%s: %v: cancelling the job\n", c.prog, s)
		cancel()
		j.Cancel()
		<-j.Done()
		<-done
		return "", true, nil
	}
}

func ended(j job) bool {
	select {
	case <-j.Done():
		return true
	default:
		return false
	}
}
