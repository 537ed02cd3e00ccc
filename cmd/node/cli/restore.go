package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/troupe-dev/troupe/persistence"
)

// errOtherJob marks a checkpoint of another pipeline (or parameters).
var errOtherJob = errors.New("it belongs to another job")

// checkCheckpoint verifies that the checkpoint or savepoint at path can be
// restored into pipeline: its metadata and every state file it lists are
// readable and intact, and it is the pipeline's. Errors name the file at
// fault.
func checkCheckpoint(path, pipeline string) (*persistence.Checkpoint, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	cp, err := persistence.OpenCheckpoint(path)
	if err != nil {
		return nil, err
	}
	if cp.Meta.Job != pipeline {
		return nil, fmt.Errorf("%w: it holds pipeline %q, not %q", errOtherJob, cp.Meta.Job, pipeline)
	}
	for _, t := range cp.Meta.Tasks {
		if t.Handle == "" {
			continue
		}
		if _, err := cp.ReadState(t.Handle); err != nil {
			return nil, err
		}
	}
	return cp, nil
}

// resumePoint returns the checkpoint to resume the run from: its newest
// complete one. A newest checkpoint that cannot be read is an error
// (unreadableError, naming the file and the older checkpoints to --restore
// from): the previous process may have told the sinks it was complete,
// so falling back to an older one would commit output twice. Checkpoints
// of another job or run (they do not belong in this directory) are
// reported through warn and passed over.
func (r *runDir) resumePoint(pipeline, fp, run string, warn func(format string, args ...any)) (string, bool, error) {
	paths, err := r.checkpoints()
	if err != nil {
		return "", false, err
	}
	for i, p := range paths {
		cp, err := checkCheckpoint(p, pipeline)
		if err == nil {
			err = belongs(cp, fp, run)
		}
		switch {
		case err == nil:
			return p, true, nil
		case errors.Is(err, errOtherJob):
			warn("checkpoint %s is not this run's: %v; passing it over", p, err)
		default:
			return "", false, &unreadableError{path: p, err: err, older: usable(paths[i+1:], pipeline, fp, run)}
		}
	}
	return "", false, nil
}

// belongs checks that a readable checkpoint of the pipeline is this
// run's: taken with these parameters, by this run (or before runs had
// ids).
func belongs(cp *persistence.Checkpoint, fp, run string) error {
	if cp.Meta.Fingerprint != "" && cp.Meta.Fingerprint != fp {
		return fmt.Errorf("%w: it was taken with other parameters", errOtherJob)
	}
	if cp.Meta.Run != "" && cp.Meta.Run != run {
		return fmt.Errorf("%w: it was taken by run %s, not %s", errOtherJob, cp.Meta.Run, run)
	}
	return nil
}

// checkpoints lists the run's complete checkpoints, newest first.
func (r *runDir) checkpoints() ([]string, error) {
	st, err := r.store()
	if err != nil {
		return nil, err
	}
	return st.Checkpoints()
}

// usable returns those of paths that are this run's and can be read.
func usable(paths []string, pipeline, fp, run string) []string {
	var ok []string
	for _, p := range paths {
		if cp, err := checkCheckpoint(p, pipeline); err == nil && belongs(cp, fp, run) == nil {
			ok = append(ok, p)
		}
	}
	return ok
}

// unreadableError says that the checkpoint a run must resume from cannot
// be read, and what the user can do.
type unreadableError struct {
	path  string
	err   error
	older []string // readable older checkpoints of the run, newest first
}

func (e *unreadableError) Error() string {
	return fmt.Sprintf("checkpoint %s cannot be restored: %v\n%s", e.path, e.err, restoreAdvice(e.older))
}

func (e *unreadableError) Unwrap() error { return e.err }

// restoreAdvice tells the user how to go on when the checkpoint a run
// must resume from cannot be read.
func restoreAdvice(older []string) string {
	var b strings.Builder
	b.WriteString("The job's sinks may already have committed the output up to that checkpoint, so the run does not\n" +
		"fall back to an older one by itself: that would commit the output between the two a second time.\n")
	if len(older) == 0 {
		b.WriteString("No older checkpoint of this run can be read.\n")
		return b.String()
	}
	b.WriteString("To resume from an older checkpoint anyway (output committed after it may be written again),\n" +
		"run the same command with --restore PATH, PATH one of these (newest first):\n")
	for _, p := range older {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	return b.String()
}
