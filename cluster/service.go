package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// jobService is the coordinator's job manager: it checks submissions,
// admits them when the cluster has the slots (else they wait, in
// StateWaitingForSlots, in submission order), starts their masters on this
// node's engine with a placer over the live members, and answers for
// them. Every node has one; only the coordinator's receives requests (the
// REST layer forwards the others). Its methods are safe for concurrent
// use; one goroutine per started job, owned by the service, waits for the
// job's end to free its slots and admit waiting jobs.
type jobService struct {
	engine  *actors.Engine
	reg     *actors.Registry
	store   Store
	members func() []NodeMeta
	log     *slog.Logger

	mu      sync.Mutex
	slots   *slotTable
	jobs    map[string]*jobEntry
	order   []string    // ids in submission order
	waiting []*jobEntry // admitted in order as slots free up
	closed  bool
	wg      sync.WaitGroup
}

// jobEntry is one submitted job. Fields are guarded by the service's mu.
type jobEntry struct {
	id          string
	req         JobRequest
	spec        actors.JobSpec
	graph       *operators.JobGraph // the job's shape, for its status
	slotsNeeded int
	submitted   time.Time
	ended       time.Time
	job         *actors.Job // nil while waiting for slots
	cancelled   bool        // cancelled while waiting
	// stoppedWithSavepoint: a stop with savepoint ended the job; it shows
	// as finished, as Flink shows a job stopped with a savepoint.
	stoppedWithSavepoint bool
	placer               *placer
	startErr             error // the engine refused the job
}

func newJobService(e *actors.Engine, reg *actors.Registry, store Store, members func() []NodeMeta, log *slog.Logger) *jobService {
	return &jobService{engine: e, reg: reg, store: store, members: members, log: log,
		slots: newSlotTable(), jobs: map[string]*jobEntry{}}
}

// Submit checks req, then starts the job or queues it for slots.
func (s *jobService) Submit(_ context.Context, req JobRequest) (string, error) {
	e, err := s.check(req)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", fmt.Errorf("%w: the node is shutting down", ErrNoCoordinator)
	}
	s.jobs[e.id] = e
	s.order = append(s.order, e.id)
	s.waiting = append(s.waiting, e)
	s.admitLocked()
	return e.id, nil
}

// check validates a request as far as it can before anything runs: the
// pipeline and its parameters (by building it), the parallelism, the
// checkpoint interval, the state backend and the restore path.
func (s *jobService) check(req JobRequest) (*jobEntry, error) {
	if req.Parallelism < 0 {
		return nil, badField("parallelism", fmt.Errorf("%d is negative", req.Parallelism))
	}
	p, err := s.reg.Build(req.Pipeline, req.Params, req.Parallelism)
	switch {
	case errors.Is(err, actors.ErrUnknownPipeline):
		return nil, badField("pipeline", err)
	case err != nil:
		return nil, badField("params", err)
	}
	g, err := p.Build()
	if err != nil {
		return nil, badField("parallelism", err)
	}
	spec := actors.JobSpec{Pipeline: req.Pipeline, Params: req.Params, Parallelism: req.Parallelism, StateBackend: req.StateBackend}
	if err := s.checkOptions(req, &spec); err != nil {
		return nil, err
	}
	e := &jobEntry{id: actors.NewRunID(), req: req, spec: spec, graph: g, slotsNeeded: slotsOf(g), submitted: time.Now()}
	return e, nil
}

func (s *jobService) checkOptions(req JobRequest, spec *actors.JobSpec) error {
	switch req.StateBackend {
	case "", operators.StateBackendHeap, operators.StateBackendBolt:
	default:
		return badField("stateBackend", fmt.Errorf("%q, want %q or %q", req.StateBackend, operators.StateBackendHeap, operators.StateBackendBolt))
	}
	if req.CheckpointInterval != "" {
		d, err := time.ParseDuration(req.CheckpointInterval)
		if err != nil || d <= 0 {
			return badField("checkpointInterval", fmt.Errorf("%q is not a positive duration such as 200ms", req.CheckpointInterval))
		}
		spec.Checkpoint = &actors.CheckpointConfig{Interval: d}
	}
	if req.Restore != "" {
		// Any path the store opens: a directory (file://) or a nats://
		// path, of any run. The engine checks its pipeline on submit.
		if _, err := s.store.OpenCheckpoint(req.Restore); err != nil {
			return badField("restore", fmt.Errorf("%s: %w", req.Restore, err))
		}
	}
	return nil
}

// slotsOf is the number of slots a job needs: its highest parallelism
// (slot sharing: slot i holds subtask i of every vertex).
func slotsOf(g *operators.JobGraph) int {
	n := 0
	for _, v := range g.Vertices {
		n = max(n, v.Parallelism)
	}
	return n
}

// admitLocked starts waiting jobs, in order, while their slots are free.
// A job that does not fit blocks the ones behind it (no overtaking), so
// a large job is not starved by small ones.
func (s *jobService) admitLocked() {
	for len(s.waiting) > 0 && !s.closed {
		e := s.waiting[0]
		members := s.liveMembers()
		placed, err := s.slots.place(e.id, e.slotsNeeded, members)
		if err != nil {
			return
		}
		s.waiting = s.waiting[1:]
		s.startLocked(e, placed)
	}
}

func (s *jobService) startLocked(e *jobEntry, placed []NodeMeta) {
	e.placer = &placer{svc: s, run: e.id, first: placed}
	opts := []actors.SubmitOption{actors.WithPlacer(e.placer), actors.ContinueRun(e.id)}
	if e.req.Restore != "" {
		opts = append(opts, actors.RestoreFrom(e.req.Restore))
	}
	job, err := s.engine.SubmitSpec(s.reg, e.spec, opts...)
	if err != nil {
		s.slots.release(e.id)
		e.ended = time.Now()
		s.log.Error("job did not start", "job", e.id, "pipeline", e.req.Pipeline, "err", err)
		e.startErr = err
		return
	}
	e.job = job
	s.wg.Add(1)
	go s.awaitEnd(e, job)
}

// awaitEnd frees a job's slots when it ends and admits waiting jobs.
func (s *jobService) awaitEnd(e *jobEntry, job *actors.Job) {
	defer s.wg.Done()
	<-job.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	e.ended = time.Now()
	s.slots.release(e.id)
	s.admitLocked()
}

// liveMembers returns the members that can run subtasks: not leaving,
// with a remote address and slots.
func (s *jobService) liveMembers() []NodeMeta {
	var out []NodeMeta
	for _, m := range s.members() {
		if !m.Leaving && m.ActorAddr != "" && m.Slots > 0 {
			out = append(out, m)
		}
	}
	return out
}

// memberGone frees what a member that died or left held and admits
// waiting jobs; its jobs fail over through their masters, which watch
// their agents there.
func (s *jobService) memberGone(m NodeMeta) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slots.forget(m)
}

// membersChanged admits waiting jobs when members join or change.
func (s *jobService) membersChanged() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.admitLocked()
}

// Jobs lists every job, in submission order.
func (s *jobService) Jobs(context.Context) ([]JobStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobStatus, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.statusLocked(s.jobs[id]))
	}
	return out, nil
}

// Job returns one job.
func (s *jobService) Job(_ context.Context, id string) (JobStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.jobs[id]
	if e == nil {
		return JobStatus{}, fmt.Errorf("%w: %q", ErrUnknownJob, id)
	}
	return s.statusLocked(e), nil
}

// Cancel cancels a job: a waiting one leaves the queue, a running one is
// told to stop at once; it does not wait for the job's end.
func (s *jobService) Cancel(_ context.Context, id string) error {
	s.mu.Lock()
	e := s.jobs[id]
	if e == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownJob, id)
	}
	if i := slices.Index(s.waiting, e); i >= 0 {
		s.waiting = slices.Delete(s.waiting, i, i+1)
		e.cancelled, e.ended = true, time.Now()
		s.admitLocked()
		s.mu.Unlock()
		return nil
	}
	job := e.job
	s.mu.Unlock()
	if job == nil || job.State().Terminal() {
		return fmt.Errorf("%w: %q", ErrJobEnded, id)
	}
	go job.Cancel() // Cancel waits for the end; the caller does not
	return nil
}

// Savepoint takes a savepoint of a running job; with stop, the job then
// ends, shown as finished.
func (s *jobService) Savepoint(ctx context.Context, id string, stop bool) (string, error) {
	s.mu.Lock()
	e := s.jobs[id]
	var job *actors.Job
	if e != nil {
		job = e.job
	}
	s.mu.Unlock()
	switch {
	case e == nil:
		return "", fmt.Errorf("%w: %q", ErrUnknownJob, id)
	case job == nil || job.State().Terminal():
		return "", fmt.Errorf("%w: %q is not running", ErrJobEnded, id)
	}
	if !stop {
		return job.Savepoint(ctx)
	}
	path, err := job.StopWithSavepoint(ctx)
	if err == nil {
		s.mu.Lock()
		e.stoppedWithSavepoint = true
		s.mu.Unlock()
	}
	return path, err
}

// close stops admitting jobs, cancels the running ones and waits for
// them.
func (s *jobService) close() {
	s.mu.Lock()
	s.closed = true
	var running []*actors.Job
	for _, e := range s.jobs {
		if e.job != nil {
			running = append(running, e.job)
		}
	}
	s.mu.Unlock()
	for _, j := range running {
		j.Cancel()
	}
	s.wg.Wait()
}
