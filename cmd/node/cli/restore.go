package cli

import (
	"errors"
	"fmt"
	"os"

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

// resumePoint returns the run's latest checkpoint that can be restored.
// Unusable ones (damaged, or of other parameters) are reported through
// warn and moved aside, renamed *.unusable, so that the engine's own
// restarts do not try them either.
func (r *runDir) resumePoint(pipeline, fp string, warn func(format string, args ...any)) (string, bool, error) {
	st, err := r.store()
	if err != nil {
		return "", false, err
	}
	paths, err := st.Checkpoints()
	if err != nil {
		return "", false, err
	}
	for _, p := range paths {
		cp, err := checkCheckpoint(p, pipeline)
		if err == nil && cp.Meta.Fingerprint != "" && cp.Meta.Fingerprint != fp {
			err = fmt.Errorf("%w: it was taken with other parameters", errOtherJob)
		}
		if err == nil {
			return p, true, nil
		}
		aside := p + ".unusable"
		if rerr := os.Rename(p, aside); rerr != nil {
			warn("checkpoint %s is unusable: %v (and cannot be moved aside: %v); trying an older one", p, err, rerr)
			continue
		}
		warn("checkpoint %s is unusable: %v; moved it to %s, trying an older one", p, err, aside)
	}
	return "", false, nil
}
