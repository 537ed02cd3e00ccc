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
	"github.com/troupe-dev/troupe/persistence"
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

	// recs holds the job records; nil without a job store (then jobs
	// live only while this node does, and nothing is taken over).
	recs        *records
	self        string // this node's name, the owner in records
	timing      LeaseTiming
	retention   EndedJobs
	coordinates func() bool // whether this node coordinates now
	stop        chan struct{}

	mu      sync.Mutex
	slots   *slotTable
	jobs    map[string]*jobEntry
	order   []string    // ids in submission order
	waiting []*jobEntry // admitted in order as slots free up
	// fenced are jobs whose lease this node lost, by id, until their
	// local job has stopped: only then may this node take them again.
	fenced map[string]*jobEntry
	closed bool
	wg     sync.WaitGroup
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
	// lease is this node's hold on the job's record; nil without a job
	// store.
	lease *lease
	// ending: the job has ended and awaitEnd is writing its record;
	// recorded: it has (the lease loop leaves the record alone).
	ending, recorded bool
	// priorRestarts are the restarts under earlier owners (takeovers
	// included); takeoverCause why this node took the job over.
	priorRestarts int
	takeoverCause string
	// cancelRequested: a cancel came through the record; every rewrite
	// of the record keeps it until the job's end is recorded, so that a
	// takeover meanwhile cancels the job rather than resuming it.
	cancelRequested bool
	// cancelAsked: a user cancelled the running job (its end is the
	// user's, to be recorded even if the node is stopping).
	cancelAsked bool
}

// serviceConfig is what a job service needs beside the engine.
type serviceConfig struct {
	members     func() []NodeMeta
	coordinates func() bool
	self        string
	store       Store // nil: no job records, restore paths opened as directories
	timing      LeaseTiming
	retention   EndedJobs
	log         *slog.Logger
}

func newJobService(e *actors.Engine, reg *actors.Registry, cfg serviceConfig) *jobService {
	s := &jobService{engine: e, reg: reg, store: cfg.store, members: cfg.members, log: cfg.log, self: cfg.self,
		timing: cfg.timing.withDefaults(), retention: cfg.retention.withDefaults(), coordinates: cfg.coordinates, stop: make(chan struct{}),
		slots: newSlotTable(), jobs: map[string]*jobEntry{}, fenced: map[string]*jobEntry{}}
	if cfg.store != nil {
		s.recs = &records{store: cfg.store.Jobs()}
		s.wg.Add(2)
		go s.leaseLoop()
		go s.takeoverLoop()
	}
	return s
}

// Submit checks req, then starts the job or queues it for slots.
func (s *jobService) Submit(ctx context.Context, req JobRequest) (string, error) {
	e, err := s.check(req)
	if err != nil {
		return "", err
	}
	if err := s.createRecord(ctx, e); err != nil {
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
	if err := checkUnaligned(req, spec.Checkpoint); err != nil {
		return err
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

// checkUnaligned applies the request's unaligned checkpoint settings to
// ck, the job's checkpointing (nil: none).
func checkUnaligned(req JobRequest, ck *actors.CheckpointConfig) error {
	if req.Unaligned && ck == nil {
		return badField("unaligned", errors.New("needs checkpointInterval"))
	}
	if req.AlignmentTimeout == "" {
		if ck != nil {
			ck.Unaligned = req.Unaligned
		}
		return nil
	}
	d, err := time.ParseDuration(req.AlignmentTimeout)
	switch {
	case err != nil || d < 0:
		return badField("alignmentTimeout", fmt.Errorf("%q is not a duration such as 50ms", req.AlignmentTimeout))
	case !req.Unaligned:
		return badField("alignmentTimeout", errors.New("needs unaligned"))
	}
	ck.Unaligned, ck.AlignmentTimeout = true, d
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
	if e.lease != nil {
		opts = append(opts, actors.GuardCommits(e.lease.guard), actors.FirstAttempt(firstAttempt(e.lease.epoch)),
			actors.FirstCheckpointID(firstCheckpointID(e.lease.epoch)), actors.OwnerEpoch(e.lease.epoch))
	}
	if e.req.Restore != "" {
		opts = append(opts, actors.RestoreFrom(e.req.Restore))
	}
	job, err := s.engine.SubmitSpec(s.reg, e.spec, opts...)
	if err != nil {
		s.slots.release(e.id)
		e.ended = time.Now()
		s.log.Error("job did not start", "job", e.id, "pipeline", e.req.Pipeline, "err", err)
		e.startErr = err
		if e.lease != nil {
			e.ending = true
			go s.recordEnd(e) // not under mu, which recordEnd takes
		}
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
	e.ended = time.Now()
	e.ending = true
	s.slots.release(e.id)
	s.admitLocked()
	s.mu.Unlock()
	if e.lease != nil {
		s.recordEnd(e)
	}
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

// handles returns the jobs this node's engine runs the masters of, in
// submission order.
func (s *jobService) handles() []*actors.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*actors.Job
	for _, id := range s.order {
		if e := s.jobs[id]; e != nil && e.job != nil {
			out = append(out, e.job)
		}
	}
	return out
}

// Jobs lists every job, in submission order: those this node runs, and
// the others the job store knows.
func (s *jobService) Jobs(ctx context.Context) ([]JobStatus, error) {
	s.mu.Lock()
	out := make([]JobStatus, 0, len(s.order))
	local := map[string]bool{}
	for _, id := range s.order {
		out = append(out, s.statusLocked(s.jobs[id]))
		local[id] = true
	}
	s.mu.Unlock()
	if s.recs == nil {
		return out, nil
	}
	recs, _, errs := s.recs.all(ctx)
	for _, err := range errs {
		s.log.Warn("job store", "err", err)
	}
	for _, r := range recs {
		if !local[r.ID] {
			out = append(out, r.status())
		}
	}
	slices.SortStableFunc(out, func(a, b JobStatus) int { return a.Submitted.Compare(b.Submitted) })
	return out, nil
}

// Job returns one job: as this node runs it, else as its record says.
func (s *jobService) Job(ctx context.Context, id string) (JobStatus, error) {
	s.mu.Lock()
	e := s.jobs[id]
	var st JobStatus
	if e != nil {
		st = s.statusLocked(e)
	}
	s.mu.Unlock()
	if e != nil {
		return st, nil
	}
	if s.recs != nil {
		rec, _, err := s.recs.get(ctx, id)
		if err == nil {
			return rec.status(), nil
		}
		if !errors.Is(err, persistence.ErrRecordNotFound) {
			return JobStatus{}, err
		}
	}
	return JobStatus{}, fmt.Errorf("%w: %q", ErrUnknownJob, id)
}

// Cancel cancels a job: a waiting one leaves the queue, a running one is
// told to stop at once; it does not wait for the job's end. A job that
// another node owns (known by its record) is marked for cancelling: its
// owner, or whoever takes it over, cancels it.
func (s *jobService) Cancel(ctx context.Context, id string) error {
	s.mu.Lock()
	e := s.jobs[id]
	s.mu.Unlock()
	if e == nil {
		return s.requestCancel(ctx, id)
	}
	return s.cancelLocal(e)
}

func (s *jobService) cancelLocal(e *jobEntry) error {
	s.mu.Lock()
	if i := slices.Index(s.waiting, e); i >= 0 {
		s.waiting = slices.Delete(s.waiting, i, i+1)
		e.cancelled, e.ended, e.ending = true, time.Now(), true
		s.admitLocked()
		s.mu.Unlock()
		if e.lease != nil {
			go s.recordEnd(e)
		}
		return nil
	}
	job := e.job
	s.mu.Unlock()
	if job == nil || job.State().Terminal() {
		return fmt.Errorf("%w: %q", ErrJobEnded, e.id)
	}
	s.mu.Lock()
	e.cancelAsked = true
	s.mu.Unlock()
	go job.Cancel() // Cancel waits for the end; the caller does not
	return nil
}

// requestCancel marks a job this node does not run for cancelling.
func (s *jobService) requestCancel(ctx context.Context, id string) error {
	if s.recs == nil {
		return fmt.Errorf("%w: %q", ErrUnknownJob, id)
	}
	for {
		rec, rev, err := s.recs.get(ctx, id)
		switch {
		case errors.Is(err, persistence.ErrRecordNotFound):
			return fmt.Errorf("%w: %q", ErrUnknownJob, id)
		case err != nil:
			return err
		case rec.terminal():
			return fmt.Errorf("%w: %q", ErrJobEnded, id)
		}
		rec.CancelRequested = true
		_, err = s.recs.update(ctx, rec, rev)
		if !errors.Is(err, persistence.ErrStaleRevision) {
			return err
		}
	}
}

// createRecord writes a new job's record, owned by this node at epoch 1.
func (s *jobService) createRecord(ctx context.Context, e *jobEntry) error {
	if s.recs == nil {
		return nil
	}
	start := time.Now()
	rec := &jobRecord{ID: e.id, Request: e.req, Submitted: e.submitted, Owner: s.self, Epoch: 1,
		LeaseUntil: start.Add(s.timing.Lease), State: StateWaitingForSlots}
	rev, err := s.recs.create(ctx, rec)
	if err != nil {
		return fmt.Errorf("cluster: record the job in the job store: %w", err)
	}
	e.lease = &lease{epoch: 1, rev: rev, until: rec.LeaseUntil, margin: s.timing.Margin}
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
		return "", s.notHere(ctx, id)
	case job == nil || job.State().Terminal():
		return "", fmt.Errorf("%w: %q is not running", ErrJobEnded, id)
	case !job.Checkpointing():
		// Never possible for this job: the client's mistake, not the node's.
		return "", fmt.Errorf("%w: job %q takes no checkpoints, so no savepoints; submit it with checkpointInterval", ErrBadRequest, id)
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

// close stops admitting jobs, stops the jobs this node runs and waits
// for them. With a job store the jobs that still run are not ended: this
// node gives up their leases (so that its masters commit nothing more),
// stops them here, then hands the leases back at once, and the
// coordinator that remains takes them over — as a job manager in Flink's
// HA mode leaves its jobs to the next leader. A job that had ended
// already (finished, failed, or cancelled by a user) gets its end
// recorded instead, so that nobody runs it again. Safe to call twice.
func (s *jobService) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	var running []*actors.Job
	var held []*jobEntry
	for _, e := range s.jobs {
		if e.lease != nil && !e.recorded && e.lease.lose() {
			held = append(held, e)
		}
		if e.job != nil {
			running = append(running, e.job)
		}
	}
	s.mu.Unlock()
	for _, j := range running {
		j.Cancel()
	}
	close(s.stop)
	s.wg.Wait()
	for _, e := range held {
		if s.endedByItself(e) {
			s.writeEnd(e, true)
		} else {
			s.handBack(e)
		}
	}
}

// endedByItself reports whether e's job ended before this node stopped
// it: it finished or failed, a user cancelled it, or it never started.
func (s *jobService) endedByItself(e *jobEntry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.recorded {
		return false // written already
	}
	if e.job == nil {
		return e.cancelled || e.startErr != nil
	}
	switch e.job.State() {
	case actors.JobFinished, actors.JobFailed:
		return true
	case actors.JobCancelled:
		return e.cancelAsked || e.stoppedWithSavepoint
	}
	return false
}

// handBack ends this node's lease of e's job now, keeping the record as
// it was, so that another node may take the job over at once.
func (s *jobService) handBack(e *jobEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timing.Lease)
	defer cancel()
	rec, rev, err := s.recs.get(ctx, e.id)
	epoch, _, _, _ := e.lease.snapshot()
	if err != nil || rec.Owner != s.self || rec.Epoch != epoch || rec.terminal() {
		return
	}
	rec.LeaseUntil = time.Now()
	if _, err := s.recs.update(ctx, rec, rev); err != nil {
		s.log.Warn("job lease not handed back; it runs out by itself", "job", e.id, "err", err)
	}
}

// notHere explains why this node cannot act on a job it does not run:
// unknown, ended, run by another live node (an OwnerError, which the
// REST layer forwards), or being taken over.
func (s *jobService) notHere(ctx context.Context, id string) error {
	if s.recs == nil {
		return fmt.Errorf("%w: %q", ErrUnknownJob, id)
	}
	rec, _, err := s.recs.get(ctx, id)
	switch {
	case errors.Is(err, persistence.ErrRecordNotFound):
		return fmt.Errorf("%w: %q", ErrUnknownJob, id)
	case err != nil:
		return err
	case rec.terminal():
		return fmt.Errorf("%w: %q is %s", ErrJobEnded, id, rec.State)
	}
	for _, m := range s.liveMembers() {
		if m.Name == rec.Owner && m.Name != s.self {
			return &OwnerError{Job: id, Node: m.Name, HTTPAddr: m.HTTPAddr}
		}
	}
	return fmt.Errorf("%w: job %s is being taken over from node %s; try again in a few seconds", ErrNoCoordinator, id, rec.Owner)
}
