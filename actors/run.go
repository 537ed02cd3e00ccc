package actors

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// A job run is one submission of a job together with the restarts (and,
// with ContinueRun, the resumes) that continue it. Its id scopes
// everything a run writes: its checkpoints go to the store opened for it
// (CheckpointConfig.Store), their metadata carries the id, and a restart
// restores only checkpoints of its own run, never another job's that
// happens to share the name. Run ids are plain strings, so that they can
// be written to files and sent between nodes.

// maxRunIDLen bounds a run id, which becomes part of paths.
const maxRunIDLen = 128

// NewRunID returns a fresh run id: 16 random hex digits. Submit gives
// each job it starts one; a caller that must record the id before the
// job starts (to resume it after a crash) makes one itself and submits
// the job with ContinueRun.
func NewRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// ContinueRun submits the job as run id instead of a fresh run: its
// checkpoints go to the store of that run, and its first attempt resumes
// from the run's latest complete checkpoint, as a restart would. A run
// without checkpoints yet starts from RestoreFrom's path if given, else
// afresh — so ContinueRun(NewRunID()) is a fresh start whose id the
// caller knew first. This is how a process that crashed resumes its run
// (node run --state-dir). The id must be 1 to 128 letters, digits, '.',
// '_' or '-' (it names files), and no job of the engine may be running
// it: Submit fails otherwise.
func ContinueRun(id string) SubmitOption {
	return func(m *master) {
		m.job.run = id
		m.continued = true
	}
}

// RunID returns the id of the job's run.
func (j *Job) RunID() string { return j.run }

// checkRunID rejects ids that cannot be used in paths.
func checkRunID(id string) error {
	if id == "" || len(id) > maxRunIDLen || id == "." || id == ".." {
		return fmt.Errorf("%w: run id %q: want 1 to %d characters, not . or ..", ErrConfig, id, maxRunIDLen)
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%w: run id %q: %q is not a letter, digit, '.', '_' or '-'", ErrConfig, id, r)
		}
	}
	return nil
}

// assignRun gives a submitted job its run id: a fresh one, or the one
// ContinueRun asked for if it is valid and not running. Called with e.mu
// held.
func (e *Engine) assignRun(job *Job) error {
	if job.run == "" {
		job.run = NewRunID()
		return nil
	}
	if err := checkRunID(job.run); err != nil {
		return err
	}
	for other := range e.jobs {
		if other.run == job.run {
			return fmt.Errorf("%w: run %s (job %q)", ErrDuplicateRun, job.run, other.name)
		}
	}
	return nil
}
