package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/cluster"
)

// defaultPollInterval is how often wait asks for the job's state.
const defaultPollInterval = 500 * time.Millisecond

const waitUsage = `Usage: node wait ID [--timeout D] [--server URL]

Waits until a job has ended and prints its final state: finished, failed
or cancelled. The cause of a failure goes to standard error. While the
cluster has no coordinator (one is leaving, another taking over), wait
keeps asking.

Flags:
  --timeout D              give up after D (such as 30s or 5m); default:
                           wait as long as it takes
` + serverFlagUsage + `
Exit codes: 0 the job finished, 1 it failed or was cancelled, the timeout
passed first, or the node could not be reached; 2 usage error (including
an unknown job).
`

func (c *command) wait(args []string) int {
	var timeout time.Duration
	return c.runClient("wait", args, clientCmd{
		usage: waitUsage,
		args:  []string{"ID"},
		flags: func(fs *flag.FlagSet) {
			fs.Func("timeout", "", func(s string) error {
				d, err := time.ParseDuration(s)
				if err != nil || d <= 0 {
					return fmt.Errorf("want a positive duration such as 30s or 5m")
				}
				timeout = d
				return nil
			})
		},
		run: func(rc remoteCall, args []string) int { return c.awaitJob(rc, args[0], timeout) },
	})
}

// awaitJob polls the job every c.pollInterval until it has ended or the
// timeout (0: none) has passed, and reports the outcome.
func (c *command) awaitJob(rc remoteCall, id string, timeout time.Duration) int {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ticker := time.NewTicker(c.pollInterval)
	defer ticker.Stop()
	last := "unknown" // the state last seen, for the timeout's message
	for {
		j, err := rc.cl.Job(ctx, id)
		switch {
		case ctx.Err() != nil:
			fmt.Fprintf(c.stderr, "%s wait: timed out after %v; job %s is %s\n", c.prog, timeout, id, last)
			return ExitFailed
		case errors.Is(err, cluster.ErrNoCoordinator):
			// A 503: between coordinators, ask again.
		case err != nil:
			return rc.fail(err)
		case terminalState(j.State):
			return c.reportEnd(j)
		default:
			last = j.State
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			fmt.Fprintf(c.stderr, "%s wait: timed out after %v; job %s is %s\n", c.prog, timeout, id, last)
			return ExitFailed
		}
	}
}

// reportEnd prints the final state of a job that has ended and returns
// the exit code of wait.
func (c *command) reportEnd(j cluster.JobStatus) int {
	fmt.Fprintln(c.stdout, j.State)
	switch j.State {
	case cluster.StateFinished:
		return ExitOK
	case cluster.StateFailed:
		fmt.Fprintf(c.stderr, "%s wait: job %s failed: %s\n", c.prog, j.ID, j.Failure)
	default:
		fmt.Fprintf(c.stderr, "%s wait: job %s was cancelled\n", c.prog, j.ID)
	}
	return ExitFailed
}

// terminalState reports whether a job in state has ended.
func terminalState(state string) bool {
	switch state {
	case cluster.StateFinished, cluster.StateFailed, cluster.StateCancelled:
		return true
	}
	return false
}
