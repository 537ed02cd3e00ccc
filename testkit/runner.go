package testkit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// Test defaults of a Runner's engine. Small batches and few credits make
// records cross channels in many batches, so that flow control, restarts
// and faults meet partly processed input even in short pipelines.
const (
	runnerBatchSize     = 16
	runnerCredits       = 2
	runnerBufferTimeout = time.Millisecond
	runnerRestarts      = 3
	runnerRestartDelay  = time.Millisecond
	// defaultRunTimeout bounds, before dilation, how long Run waits for a
	// job: longer than an expectation's DefaultTimeout, because a job
	// deploys and may restart several times.
	defaultRunTimeout = 30 * time.Second
)

// Runner runs pipelines on an engine of its own, for tests, with faults
// injected where the test says (see Faults). It is bound to the test that
// created it: call its methods from that test's goroutine.
type Runner struct {
	t       testing.TB
	engine  *actors.Engine
	faults  *Faults
	log     *logBuffer
	timeout time.Duration
	started map[*actors.Job]time.Time // used from the test's goroutine
}

// RunnerOption changes a Runner's engine or its timeout.
type RunnerOption func(*runnerConfig)

type runnerConfig struct {
	engine  actors.Config
	timeout time.Duration
}

// WithRestart sets the restart strategy. Default: actors.FixedDelay with 3
// restarts, 1 ms apart.
func WithRestart(s actors.RestartStrategy) RunnerOption {
	return func(c *runnerConfig) { c.engine.Restart = s }
}

// WithBatchSize sets the most records in one batch. Default 16.
func WithBatchSize(n int) RunnerOption {
	return func(c *runnerConfig) { c.engine.BatchSize = n }
}

// WithCredits sets the batches a receiver grants each input channel.
// Default 2.
func WithCredits(n int) RunnerOption {
	return func(c *runnerConfig) { c.engine.Credits = n }
}

// WithCheckpoints turns on checkpoints every interval (in memory): a
// restart then restores state and rewinds sources, and collecting sinks
// commit exactly once.
func WithCheckpoints(interval time.Duration) RunnerOption {
	return func(c *runnerConfig) { c.engine.Checkpoint.Interval = interval }
}

// WithConfig edits the engine's configuration, in its place among the
// options (for example to make checkpoints unaligned); the runner sets
// the logger and the fault injector after all of them.
func WithConfig(edit func(*actors.Config)) RunnerOption {
	return func(c *runnerConfig) { edit(&c.engine) }
}

// WithRunTimeout sets how long Run waits for a job to end; d is dilated
// (see TimeFactor). Default 30 s, dilated: a bound, not a wait, generous
// for -race on a loaded two-core machine.
func WithRunTimeout(d time.Duration) RunnerOption {
	return func(c *runnerConfig) { c.timeout = Dilated(d) }
}

// NewRunner returns a Runner whose engine keeps its log in memory, shown
// through t.Log only if the test fails, and injects the faults of
// Runner.Faults. A cleanup closes the engine, cancelling any job still
// running, and fails the test if the engine does not close within the
// runner's timeout (a job whose actors do not stop). The test fails if an
// option makes the engine's configuration invalid.
func NewRunner(t testing.TB, opts ...RunnerOption) *Runner {
	t.Helper()
	r := &Runner{t: t, faults: NewFaults(), log: &logBuffer{}, started: map[*actors.Job]time.Time{}}
	cfg := runnerConfig{engine: actors.DefaultConfig(), timeout: Dilated(defaultRunTimeout)}
	cfg.engine.BatchSize = runnerBatchSize
	cfg.engine.Credits = runnerCredits
	cfg.engine.BufferTimeout = runnerBufferTimeout
	cfg.engine.Restart = actors.FixedDelay(runnerRestarts, runnerRestartDelay)
	for _, opt := range opts {
		opt(&cfg)
	}
	cfg.engine.Logger = r.log.logger()
	cfg.engine.Faults = r.faults
	engine, err := actors.NewEngine(cfg.engine)
	if err != nil {
		t.Fatalf("testkit: runner: %v", err)
	}
	r.engine, r.timeout = engine, cfg.timeout
	t.Cleanup(r.cleanup)
	return r
}

// Faults returns the injector the runner's engine calls: add rules with
// FailAt before Run, read Fired after.
func (r *Runner) Faults() *Faults { return r.faults }

// Engine returns the runner's engine, for tests that submit jobs
// themselves (to cancel or stop them while they run).
func (r *Runner) Engine() *actors.Engine { return r.engine }

// Close closes the engine, cancelling jobs still running. The cleanup
// calls it; calling it again does nothing.
func (r *Runner) Close() { _ = r.engine.Close() }

// cleanup closes the engine, failing the test rather than hanging when a
// job's actors do not stop.
func (r *Runner) cleanup() {
	r.t.Helper()
	if !r.closeWithin(r.timeout) {
		r.t.Errorf("testkit: the engine did not close within %v: a job's actors did not stop", r.timeout)
	}
	if r.t.Failed() {
		r.t.Logf("testkit: engine log:\n%s", r.log)
	}
}

// closeWithin closes the engine and reports whether it closed within d.
// If it did not, the goroutine closing it is left behind: the engine is
// stuck, and the test fails.
func (r *Runner) closeWithin(d time.Duration) bool {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		r.Close()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-closed:
		return true
	case <-timer.C:
		return false
	}
}

// RunResult is how a job run by Runner.Run ended.
type RunResult struct {
	Job      string          // the pipeline's name
	State    actors.JobState // finished, failed or cancelled
	Restarts int             // restarts after failures
	Err      error           // nil when finished; else the failure (see actors.Job.Wait)
	Elapsed  time.Duration   // from submission to the end
}

// String summarises the result for test messages.
func (res *RunResult) String() string {
	s := fmt.Sprintf("job %q %v after %d restarts in %v", res.Job, res.State, res.Restarts, res.Elapsed.Round(time.Millisecond))
	if res.Err != nil {
		s += ": " + res.Err.Error()
	}
	return s
}

// Run builds the pipeline, runs it as a job and waits for it to end; the
// job's own failure is in the result, not a failure of the test. The test
// fails if the pipeline does not build or the job has not ended within the
// runner's timeout. Record counts of the faults start again for the job.
func (r *Runner) Run(p *operators.Pipeline) *RunResult {
	r.t.Helper()
	return r.Wait(r.Start(p))
}

// Start builds the pipeline and submits it without waiting, for tests that
// drive a running job (with stream probes, say); Wait collects the result.
// The job is cancelled when the test ends, if it is still running. The
// test fails at once if a fault names an operator that neither this job
// nor one the runner started before has (Faults.Check).
func (r *Runner) Start(p *operators.Pipeline, opts ...actors.SubmitOption) *actors.Job {
	r.t.Helper()
	g, err := p.Build()
	if err != nil {
		r.t.Fatalf("testkit: build pipeline %q: %v", p.Name(), err)
	}
	if err := r.faults.Check(g); err != nil {
		r.t.Fatalf("%v", err)
	}
	r.faults.forgetJob(g.Name)
	job, err := r.engine.Submit(g, opts...)
	if err != nil {
		r.t.Fatalf("testkit: submit job %q: %v", g.Name, err)
	}
	r.started[job] = time.Now()
	return job
}

// Wait waits for a started job to end, as Run does.
func (r *Runner) Wait(job *actors.Job) *RunResult {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	err := job.Wait(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		r.t.Fatalf("testkit: job %q did not end within %v: state %v after %d restarts",
			job.Name(), r.timeout, job.State(), job.Restarts())
	}
	return &RunResult{Job: job.Name(), State: job.State(), Restarts: job.Restarts(), Err: err, Elapsed: time.Since(r.started[job])}
}
