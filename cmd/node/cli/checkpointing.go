package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/troupe-dev/troupe/actors"
)

// checkpointing is what a run command sets up for checkpoints.
type checkpointing struct {
	interval  time.Duration // 0: no periodic checkpoints
	fp        string        // the fingerprint of the pipeline and its parameters
	run       *runDir       // the checkpoint store; nil: in memory
	runID     string        // the run's id, with run; "": the engine picks one
	restore   string        // the checkpoint the job starts from; "": afresh
	savepoint bool          // a signal stops the job with a savepoint
	backend   string        // the keyed state backend: "", "heap" or "bbolt"
	stateDir  string        // --state-dir
	// --unaligned and --alignment-timeout
	unaligned        bool
	alignmentTimeout time.Duration
}

// prepareCheckpoints checks --restore and picks the run directory in
// --state-dir, resuming a run that did not finish. A bad --restore path
// is a usage error.
func (c *command) prepareCheckpoints(ra runArgs, pipeline string, params map[string]string) (*checkpointing, int) {
	ck := &checkpointing{interval: ra.interval, fp: fingerprint(pipeline, params), restore: ra.restore,
		backend: ra.backend, stateDir: ra.stateDir, unaligned: ra.unaligned, alignmentTimeout: ra.alignmentTimeout}
	if ra.restore != "" {
		cp, err := checkCheckpoint(ra.restore, pipeline)
		if err != nil {
			fmt.Fprintf(c.stderr, "%s run: --restore %s: %v\n", c.prog, ra.restore, err)
			return nil, ExitUsage
		}
		if cp.Meta.Fingerprint != "" && cp.Meta.Fingerprint != ck.fp {
			fmt.Fprintf(c.stderr, "%s run: note: --restore %s was taken with other parameters\n", c.prog, ra.restore)
		}
	}
	if ra.stateDir == "" {
		return ck, ExitOK
	}
	if err := c.pickRun(ck, ra, pipeline, params); err != nil {
		fmt.Fprintf(c.stderr, "%s run: --state-dir %s: %v\n", c.prog, ra.stateDir, err)
		if errors.As(err, new(*unfinishedError)) {
			return nil, ExitUsage
		}
		return nil, ExitFailed
	}
	ck.savepoint = !ra.noSavepoint
	return ck, ExitOK
}

// pickRun resumes the newest run of the job directory if it did not
// finish and began where this one begins (the same --restore checkpoint,
// however its path is spelled), else starts a
// new run. Either way the job is submitted as that run (ContinueRun).
//
// A new run that would start afresh while a run of the pipeline under
// other parameters (or from another --restore) did not finish is refused
// with an *unfinishedError, unless --fresh says to start over: that run
// may have committed output, which a fresh run would write again. A new
// run that starts on purpose (--fresh or --restore) supersedes the
// unfinished runs, which then no longer stop a fresh start.
func (c *command) pickRun(ck *checkpointing, ra runArgs, pipeline string, params map[string]string) error {
	jd, err := openJobDir(ra.stateDir, pipeline, ck.fp, params)
	if err != nil {
		return err
	}
	cur, ok, err := jd.latest()
	if err != nil {
		return err
	}
	if !ok || !cur.unfinished() || !sameOrigin(cur.origin(), ra.restore) || ra.fresh {
		return c.startRun(ck, ra, jd, pipeline, params)
	}
	ck.run = cur
	if ck.runID, err = cur.id(); err != nil {
		return err
	}
	warn := func(format string, args ...any) {
		fmt.Fprintf(c.stderr, "%s run: "+format+"\n", append([]any{c.prog}, args...)...)
	}
	path, found, err := cur.resumePoint(pipeline, ck.fp, ck.runID, warn)
	if err != nil || !found {
		return err // none complete yet: start where the run started
	}
	// The engine resumes a continued run from its newest checkpoint by
	// itself; naming it as well covers checkpoints taken before runs had
	// ids, which the engine does not take for the run's own.
	fmt.Fprintf(c.stderr, "%s run: resuming from checkpoint %s: the last run did not finish\n", c.prog, path)
	ck.restore = path
	return nil
}

// startRun starts a new run in jd, after checking that no unfinished run
// of the pipeline stands in the way (see pickRun).
func (c *command) startRun(ck *checkpointing, ra runArgs, jd *jobDir, pipeline string, params map[string]string) error {
	others, err := unfinishedRuns(ra.stateDir, pipeline)
	if err != nil {
		return err
	}
	if len(others) > 0 && !ra.fresh && ra.restore == "" {
		return &unfinishedError{runs: others, params: params}
	}
	for _, o := range others {
		if err := o.run.supersede(); err != nil {
			return err
		}
	}
	if ck.run, err = jd.newRun(ra.restore); err != nil {
		return err
	}
	ck.runID, err = ck.run.id()
	return err
}

// configure sets the engine's checkpoint configuration.
func (ck *checkpointing) configure(cfg *actors.Config) {
	cfg.Checkpoint.Interval = ck.interval
	cfg.Checkpoint.Unaligned, cfg.Checkpoint.AlignmentTimeout = ck.unaligned, ck.alignmentTimeout
	if ck.backend == "bbolt" {
		// working files of the live state, removed as subtasks end; the
		// checkpoints, not these, are what a restart recovers from
		cfg.StateBackend, cfg.StateDir = "bbolt", filepath.Join(ck.stateDir, "bbolt-work")
	}
	if ck.run == nil {
		return
	}
	run, id := ck.run, ck.runID
	cfg.Checkpoint.Store = func(_, runID string) (actors.CheckpointStore, error) {
		if runID != id {
			return nil, fmt.Errorf("the state dir holds run %s, not %s", id, runID)
		}
		s, err := run.store()
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

func (ck *checkpointing) submitOptions() []actors.SubmitOption {
	opts := []actors.SubmitOption{actors.WithFingerprint(ck.fp)}
	if ck.runID != "" {
		opts = append(opts, actors.ContinueRun(ck.runID))
	}
	if ck.restore != "" {
		opts = append(opts, actors.RestoreFrom(ck.restore))
	}
	return opts
}

// finished marks the run finished, so that the next one starts afresh.
func (ck *checkpointing) finished() error {
	if ck.run == nil {
		return nil
	}
	if err := ck.run.markFinished(); err != nil {
		return errors.Join(fmt.Errorf("cannot mark its state dir finished (a rerun would resume)"), err)
	}
	return nil
}

// restoreHelp tells what to do after the job failed to restore the
// run's newest checkpoint: which older ones --restore can start from.
// Empty without a state dir (nothing to list).
func (ck *checkpointing) restoreHelp(pipeline string) string {
	if ck.run == nil {
		return ""
	}
	paths, err := ck.run.checkpoints()
	if err != nil {
		return ""
	}
	return restoreAdvice(usable(paths, pipeline, ck.fp, ck.runID))
}
