package actors

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
)

// Engine runs jobs on one actor system. It is safe for concurrent use.
type Engine struct {
	cfg Config
	sys *actor.ActorSystem

	mu     sync.Mutex
	jobs   map[*Job]struct{}
	seq    int
	closed bool
}

// NewEngine validates cfg and starts an actor system.
func NewEngine(cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	return &Engine{cfg: cfg, sys: sys, jobs: make(map[*Job]struct{})}, nil
}

// System returns the engine's actor system (for custom operators and tests).
func (e *Engine) System() *actor.ActorSystem { return e.sys }

// SubmitOption configures one submitted job.
type SubmitOption func(*master)

// RestoreFrom starts the job from a savepoint or checkpoint (a path that
// Job.Savepoint or Job.LatestCheckpoint gave, or a checkpoint directory),
// at the job's parallelism, which may differ from the one it was taken at.
// The engine needs checkpointing on to keep restoring after failures.
func RestoreFrom(path string) SubmitOption {
	return func(m *master) { m.restoreFrom = path }
}

// Submit deploys a compiled job and returns its handle at once. Each
// submission is a new run (Job.RunID) with checkpoints of its own, unless
// ContinueRun says which run it continues.
func (e *Engine) Submit(g *operators.JobGraph, opts ...SubmitOption) (*Job, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrEngineClosed
	}
	job := &Job{name: g.Name, engine: e, done: make(chan struct{}), state: JobCreated}
	m := newMaster(job, g, e.cfg)
	for _, o := range opts {
		o(m)
	}
	if err := e.assignRun(job); err != nil {
		return nil, err
	}
	m.log = m.log.With("run", job.run)
	e.seq++
	props := actor.PropsFromProducer(func() actor.Actor { return m })
	pid, err := e.sys.Root.SpawnNamed(props, fmt.Sprintf("job-%d-%s", e.seq, g.Name))
	if err != nil {
		return nil, fmt.Errorf("actors: spawn job master for %q: %w", g.Name, err)
	}
	job.master = pid
	e.jobs[job] = struct{}{}
	return job, nil
}

// Run builds the pipeline, runs it and waits for it to end. Cancelling ctx
// cancels the job.
func (e *Engine) Run(ctx context.Context, p *operators.Pipeline) error {
	g, err := p.Build()
	if err != nil {
		return err
	}
	job, err := e.Submit(g)
	if err != nil {
		return err
	}
	if err := job.Wait(ctx); err != context.Canceled && err != context.DeadlineExceeded {
		return err
	}
	job.Cancel()
	return ctx.Err()
}

func (e *Engine) forget(j *Job) {
	e.mu.Lock()
	delete(e.jobs, j)
	e.mu.Unlock()
}

// Close cancels every running job, waits for them and shuts the actor
// system down. It is safe to call more than once.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	jobs := make([]*Job, 0, len(e.jobs))
	for j := range e.jobs {
		jobs = append(jobs, j)
	}
	e.mu.Unlock()
	for _, j := range jobs {
		j.Cancel()
	}
	e.sys.Shutdown()
	return nil
}
