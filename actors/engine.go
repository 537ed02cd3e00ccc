package actors

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/troupe-dev/troupe/operators"
)

// Engine runs jobs on one actor system. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	sys    *actor.ActorSystem
	remote *remote.Remote // nil without Config.Remote
	// restartDefault: Config.Restart was not set, so each job's default
	// follows its own checkpointing (JobSpec.Checkpoint)
	restartDefault bool
	stats          remoteStats
	metrics        metricsTable // the latest samples of the subtasks here
	// unlimit puts back the soft memory limit Config.Memory replaced
	unlimit func()
	// ungc puts back the collector's target Config.GCPercent replaced.
	ungc func()
	// unreserve lets go of the process's heap reserve (heap_reserve.go).
	unreserve func()
	// writers owns the goroutines that call checkpoint stores for the
	// jobs: their metadata writers (checkpointer) and their subtasks'
	// state writes (uploads). A job's end leaves them to the store, and
	// Close waits for them, for writerGrace at most.
	writers storeWork

	mu     sync.Mutex
	jobs   map[*Job]struct{}
	seq    int
	tm     *TaskManager
	closed bool
}

// NewEngine validates cfg and starts an actor system, with Proto.Actor
// remote if cfg.Remote is set.
func NewEngine(cfg Config) (*Engine, error) {
	restartDefault := cfg.Restart == nil
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	sys := NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	e := &Engine{cfg: cfg, sys: sys, restartDefault: restartDefault, jobs: make(map[*Job]struct{})}
	if cfg.Remote != nil {
		r, err := startRemote(sys, cfg.Remote)
		if err != nil {
			sys.Shutdown()
			return nil, err
		}
		e.remote = r
	}
	e.unlimit = setMemoryLimit(cfg.Memory)
	e.ungc = setGCPercent(cfg)
	e.unreserve = holdHeapReserve(cfg)
	return e, nil
}

// System returns the engine's actor system (for custom operators and tests).
func (e *Engine) System() *actor.ActorSystem { return e.sys }

// Address returns the "host:port" at which other nodes reach the engine's
// actors, or Proto.Actor's "nonhost" for an engine without Remote.
func (e *Engine) Address() string { return e.sys.Address() }

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
// ContinueRun says which run it continues. Its subtasks run in this
// process: only a job submitted with SubmitSpec can be placed on other
// nodes, which build its graph from the spec.
func (e *Engine) Submit(g *operators.JobGraph, opts ...SubmitOption) (*Job, error) {
	return e.submit(g, e.cfg, nil, opts)
}

func (e *Engine) submit(g *operators.JobGraph, cfg Config, spec *JobSpec, opts []SubmitOption) (*Job, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrEngineClosed
	}
	cfg, err := cfg.forJob(g)
	if err != nil {
		return nil, err
	}
	job := &Job{name: g.Name, engine: e, done: make(chan struct{}), state: JobCreated}
	m := newMaster(job, g, cfg)
	m.spec = spec
	for _, o := range opts {
		o(m)
	}
	if m.firstAttempt < 1 || m.firstAttempt > maxFirstAttempt {
		return nil, fmt.Errorf("%w: FirstAttempt %d is not in 1..%d", ErrConfig, m.firstAttempt, maxFirstAttempt)
	}
	if m.firstCheckpoint < 0 {
		return nil, fmt.Errorf("%w: FirstCheckpointID %d is negative", ErrConfig, m.firstCheckpoint)
	}
	m.attempt = m.firstAttempt - 1 // deploy numbers the first attempt
	// As startCheckpointing decides whether the master has a checkpointer.
	job.checkpointing = m.cfg.Checkpoint.enabled() || m.restoreFrom != ""
	if err := e.assignRun(job); err != nil {
		return nil, err
	}
	if spec != nil && m.restoreFrom != "" {
		if err := m.checkRestore(); err != nil {
			return nil, err
		}
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

// CheckJob reports what Submit would refuse of job g under the engine's
// configuration: a job that cannot fit its memory budget or async ceiling,
// or that unaligned checkpoints cannot store (ErrConfig; see
// Config.CheckJob).
func (e *Engine) CheckJob(g *operators.JobGraph) error {
	_, err := e.cfg.forJob(g)
	return err
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

// Close cancels every running job, waits for them, stops the task
// manager (and the job agents it still runs), waits a few seconds at most
// for the checkpoint store calls — metadata commits, discards, state
// writes — that ended jobs left under way,
// stops remote and shuts the actor system down. It is safe to call more
// than once.
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
	tm := e.tm
	e.mu.Unlock()
	for _, j := range jobs {
		j.Cancel()
	}
	if tm != nil {
		_ = e.sys.Root.StopFuture(tm.pid).Wait()
	}
	e.writers.wait(writerGrace, e.cfg.Logger) // logs each call it gives up on
	if e.remote != nil {
		stopRemote(e.sys, e.remote)
	}
	e.sys.Shutdown()
	e.unreserve()
	e.ungc()
	e.unlimit()
	return nil
}
