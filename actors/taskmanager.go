package actors

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
)

// TaskManager is a node's task manager: the actor, named "tm", that job
// masters (on this node or another) ask to run the slots of a job
// attempt placed here. For each StartAgent it builds the job graph from
// its registry — every node runs the same binary, and a graph whose
// fingerprint differs from the master's fails the deploy — and spawns
// the attempt's job agent as its child, which spawns the subtasks. It
// counts the slots its live agents hold. An agent stops with its job:
// when its master stops it, or by itself when its master is gone.
//
// Its methods are safe for concurrent use.
type TaskManager struct {
	e     *Engine
	reg   *Registry
	slots int
	pid   *actor.PID
	log   *slog.Logger

	mu     sync.Mutex
	agents map[string]tmAgent // by the agent's PID id

	// epochs is the highest owner epoch seen per run (StartAgent.Epoch),
	// touched by the actor only: a deploy below it is refused. Runs
	// without a live agent are forgotten beyond maxEpochRuns.
	epochs map[string]uint64
}

// maxEpochRuns bounds the runs whose highest epoch a task manager
// remembers once none of their agents lives here: a stale master
// deploys within a lease of the takeover, long before a node has seen
// this many other runs since.
const maxEpochRuns = 1024

// tmAgent is a live job agent of the task manager.
type tmAgent struct {
	run     string
	attempt int
	epoch   uint64
	slots   int
	master  *actor.PID
	index   int // among its attempt's agents
}

// taskManagerName is the task manager's actor name on every node.
const taskManagerName = "tm"

// StartTaskManager starts the engine's task manager, which offers slots
// slots and builds jobs with reg. An engine has at most one; Close stops
// it and every agent it runs.
func (e *Engine) StartTaskManager(reg *Registry, slots int) (*TaskManager, error) {
	if reg == nil || slots < 1 {
		return nil, fmt.Errorf("%w: registry %v, slots %d: want a registry and at least 1 slot", ErrTaskManager, reg != nil, slots)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return nil, ErrEngineClosed
	case e.tm != nil:
		return nil, fmt.Errorf("%w: the engine has one already (%s)", ErrTaskManager, e.tm.pid)
	}
	t := &TaskManager{e: e, reg: reg, slots: slots, log: e.cfg.Logger.With("actor", taskManagerName),
		agents: map[string]tmAgent{}, epochs: map[string]uint64{}}
	pid, err := e.sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return (*tmActor)(t) }), taskManagerName)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTaskManager, err)
	}
	t.pid = pid
	e.tm = t
	return t, nil
}

// TaskManagerPID returns the PID of the task manager of the node at
// address (Engine.Address of that node).
func TaskManagerPID(address string) *actor.PID { return actor.NewPID(address, taskManagerName) }

// PID returns the task manager's PID, which Slot.TaskManager takes.
func (t *TaskManager) PID() *actor.PID { return t.pid }

// Slots returns how many slots the task manager offers.
func (t *TaskManager) Slots() int { return t.slots }

// SlotsUsed returns the slots held by the task manager's live agents.
func (t *TaskManager) SlotsUsed() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, a := range t.agents {
		n += a.slots
	}
	return n
}

// Jobs returns the runs that have a job agent here, sorted: none once
// every job placed here has ended.
func (t *TaskManager) Jobs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	runs := map[string]bool{}
	for _, a := range t.agents {
		runs[a.run] = true
	}
	return slices.Sorted(maps.Keys(runs))
}

func (t *TaskManager) add(id string, a tmAgent) {
	t.mu.Lock()
	t.agents[id] = a
	used := 0
	for _, a := range t.agents {
		used += a.slots
	}
	t.mu.Unlock()
	if used > t.slots {
		t.log.Warn("more slots in use than offered", "used", used, "slots", t.slots, "run", a.run)
	}
}

func (t *TaskManager) has(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.agents[id]
	return ok
}

func (t *TaskManager) remove(id string) {
	t.mu.Lock()
	delete(t.agents, id)
	t.mu.Unlock()
}

func (t *TaskManager) status() *wire.TaskManagerStatus {
	return &wire.TaskManagerStatus{Runs: t.Jobs(), SlotsUsed: int32(t.SlotsUsed()), Slots: int32(t.slots)}
}

// tmActor is the task manager's actor; its Receive runs one message at a
// time.
type tmActor TaskManager

func (a *tmActor) Receive(ctx actor.Context) {
	t := (*TaskManager)(a)
	switch msg := ctx.Message().(type) {
	case *wire.StartAgent:
		t.startAgent(ctx, msg)
	case *actor.Terminated:
		t.remove(msg.Who.Id)
	case *wire.TaskManagerStatusRequest:
		ctx.Respond(t.status())
	}
}

// HandleFailure is called when a job agent panics: its master is told,
// and the agent stops with its subtasks.
func (a *tmActor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	t := (*TaskManager)(a)
	t.log.Error("job agent panicked", "agent", child, "panic", reason)
	sup.StopChildren(child)
	t.mu.Lock()
	ag, ok := t.agents[child.Id]
	t.mu.Unlock()
	if ok && ag.master != nil {
		sup.(actor.Context).Send(ag.master, &wire.AgentFailed{Run: ag.run, Attempt: int32(ag.attempt),
			Kind: wire.FailureKind_FAILURE_DEPLOY, Error: fmt.Sprintf("job agent panicked: %v", reason), Agent: int32(ag.index)})
	}
}

// startAgent spawns the job agent of StartAgent's attempt, or tells the
// master why it cannot.
func (t *TaskManager) startAgent(ctx actor.Context, sa *wire.StartAgent) {
	master := actor.NewPID(sa.Master.GetAddress(), sa.Master.GetId())
	if !t.admitEpoch(ctx, sa, master) {
		return
	}
	spec, kind, err := t.agentSpec(ctx, sa, master)
	if err != nil {
		t.log.Error("cannot start a job agent", "job", sa.Job, "run", sa.Run, "attempt", sa.Attempt, "err", err)
		ctx.Send(master, &wire.AgentFailed{Run: sa.Run, Attempt: sa.Attempt, Kind: kind, Error: err.Error(), Agent: sa.Agent})
		return
	}
	// Counted before it is spawned: the agent may report ready to its
	// master (and someone may ask Jobs) before SpawnNamed returns here.
	name := fmt.Sprintf("%s-a%d", sa.Run, sa.Attempt)
	id := ctx.Self().Id + "/" + name
	if t.has(id) {
		err = fmt.Errorf("actors: the job agent of run %s attempt %d runs here already", sa.Run, sa.Attempt)
	} else {
		t.add(id, tmAgent{run: sa.Run, attempt: int(sa.Attempt), epoch: sa.Epoch, slots: int(sa.Slots), master: master, index: int(sa.Agent)})
		props := actor.PropsFromProducer(func() actor.Actor { return newAgent(spec) })
		if _, err = ctx.SpawnNamed(props, name); err != nil {
			t.remove(id)
		}
	}
	if err != nil {
		ctx.Send(master, &wire.AgentFailed{Run: sa.Run, Attempt: sa.Attempt, Kind: wire.FailureKind_FAILURE_DEPLOY,
			Error: fmt.Sprintf("actors: spawn the job agent of run %s attempt %d: %v", sa.Run, sa.Attempt, err), Agent: sa.Agent})
	}
}

// admitEpoch fences deploys by their owner epoch (a cluster's job
// record's). A run's deploy below the highest epoch seen for the run
// comes from a job master that lost the job to another (an earlier
// owner, partitioned away, that restarts before it learns): it is
// refused, so that its attempt never runs beside the new owner's. A
// deploy above it stops the run's agents of lower epochs here, for the
// same reason, telling their masters why. Epoch 0 (no job store) is not
// fenced. It reports whether the deploy may go on.
func (t *TaskManager) admitEpoch(ctx actor.Context, sa *wire.StartAgent, master *actor.PID) bool {
	if sa.Epoch == 0 {
		return true
	}
	highest := t.epochs[sa.Run]
	if sa.Epoch < highest {
		err := fmt.Errorf("%w: node %s refused run %s attempt %d of owner epoch %d: it runs the job for a master at owner epoch %d (the job was taken over)",
			ErrSuperseded, sa.Node, sa.Run, sa.Attempt, sa.Epoch, highest)
		t.log.Warn("refused a deploy of a superseded job master", "run", sa.Run, "attempt", sa.Attempt, "epoch", sa.Epoch, "seen", highest)
		ctx.Send(master, &wire.AgentFailed{Run: sa.Run, Attempt: sa.Attempt, Kind: wire.FailureKind_FAILURE_SUPERSEDED,
			Error: err.Error(), Agent: sa.Agent})
		return false
	}
	if sa.Epoch > highest {
		t.forgetEpochs()
		t.epochs[sa.Run] = sa.Epoch
		t.stopSuperseded(ctx, sa)
	}
	return true
}

// stopSuperseded stops the agents of sa's run whose epoch is below sa's,
// and tells their masters.
func (t *TaskManager) stopSuperseded(ctx actor.Context, sa *wire.StartAgent) {
	t.mu.Lock()
	var stale []string
	for id, a := range t.agents {
		if a.run == sa.Run && a.epoch < sa.Epoch {
			stale = append(stale, id)
		}
	}
	t.mu.Unlock()
	slices.Sort(stale)
	for _, id := range stale {
		t.mu.Lock()
		a := t.agents[id]
		t.mu.Unlock()
		err := fmt.Errorf("%w: node %s stopped run %s attempt %d of owner epoch %d: a job master at owner epoch %d deploys the run (the job was taken over)",
			ErrSuperseded, sa.Node, a.run, a.attempt, a.epoch, sa.Epoch)
		t.log.Warn("stopping the agent of a superseded job master", "run", a.run, "attempt", a.attempt, "epoch", a.epoch, "new", sa.Epoch)
		if a.master != nil {
			ctx.Send(a.master, &wire.AgentFailed{Run: a.run, Attempt: int32(a.attempt), Kind: wire.FailureKind_FAILURE_SUPERSEDED,
				Error: err.Error(), Agent: int32(a.index)})
		}
		// The agent stops its subtasks before itself; Terminated removes
		// it from the slots.
		ctx.Stop(actor.NewPID(ctx.Self().Address, id))
	}
}

// forgetEpochs drops the epochs of runs without a live agent here once
// more than maxEpochRuns are remembered.
func (t *TaskManager) forgetEpochs() {
	if len(t.epochs) < maxEpochRuns {
		return
	}
	live := map[string]bool{}
	for _, run := range t.Jobs() {
		live[run] = true
	}
	for run := range t.epochs {
		if !live[run] {
			delete(t.epochs, run)
		}
	}
}

// agentSpec builds what the agent needs from StartAgent: the graph (its
// fingerprint checked), the node's configuration with the attempt's
// runtime settings, its subtasks, and the run's checkpoint store.
func (t *TaskManager) agentSpec(ctx actor.Context, sa *wire.StartAgent, master *actor.PID) (agentSpec, wire.FailureKind, error) {
	config := wire.FailureKind_FAILURE_CONFIG
	js := sa.GetSpec()
	g, err := buildSpec(t.reg, JobSpec{Pipeline: js.GetPipeline(), Params: js.GetParams(), Parallelism: int(js.GetParallelism())})
	if err != nil {
		return agentSpec{}, config, fmt.Errorf("%w: this node cannot build pipeline %q (%s): %w",
			ErrGraphMismatch, js.GetPipeline(), specParams(js.GetParams()), err)
	}
	if fp := graphFingerprint(g); fp != js.GetFingerprint() || g.Name != sa.Job {
		return agentSpec{}, config, fmt.Errorf("%w: this node builds pipeline %q (%s) as graph %s, the job master as %s: every node must run the same binary",
			ErrGraphMismatch, js.GetPipeline(), specParams(js.GetParams()), fp, js.GetFingerprint())
	}
	cfg, err := t.agentConfig(sa.GetConfig())
	if err != nil {
		return agentSpec{}, config, err
	}
	spec := agentSpec{run: sa.Run, job: sa.Job, attempt: int(sa.Attempt), index: int(sa.Agent), node: sa.Node,
		graph: g, cfg: cfg, master: master, local: master.Address == ctx.Self().Address,
		restore: sa.Restore, stats: &t.e.stats, metrics: &t.e.metrics, writers: &t.e.writers}
	if spec.subtasks, err = subtasksOf(g, sa.Subtasks); err != nil {
		return agentSpec{}, config, err
	}
	if sa.GetConfig().GetCheckpointing() {
		if spec.store, err = cfg.Checkpoint.Store(sa.Job, sa.Run); err != nil {
			return agentSpec{}, wire.FailureKind_FAILURE_DEPLOY, fmt.Errorf("actors: checkpoint store: %w", err)
		}
	}
	return spec, 0, nil
}

// agentConfig is the node's configuration (logger, state directory,
// checkpoint store, remote) with the settings every subtask of the
// attempt shares. What the master derived from its memory budget comes
// with them: the node's own budget is its soft memory limit, not a
// second derivation.
func (t *TaskManager) agentConfig(rc *wire.RuntimeConfig) (Config, error) {
	cfg := t.e.cfg
	cfg.Memory = 0
	cfg.BatchSize, cfg.Credits = int(rc.GetBatchSize()), int(rc.GetCredits())
	cfg.BatchBytes, cfg.StateCacheEntries = int(rc.GetBatchBytes()), int(rc.GetStateCacheEntries())
	cfg.MaxAsyncCapacity = int(rc.GetMaxAsyncCapacity())
	cfg.BufferTimeout = time.Duration(rc.GetBufferTimeoutNanos())
	cfg.Checkpoint.AtLeastOnce = rc.GetAtLeastOnce()
	cfg.Checkpoint.Timeout = time.Duration(rc.GetCheckpointTimeoutNanos())
	cfg.StateBackend = rc.GetStateBackend()
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("this node cannot run the job as configured: %w", err)
	}
	return cfg, nil
}

// subtasksOf resolves the subtasks StartAgent lists in g.
func subtasksOf(g *operators.JobGraph, specs []*wire.SubtaskSpec) ([]subtaskSpec, error) {
	byID := map[int]*operators.Vertex{}
	for _, v := range g.Vertices {
		byID[v.ID] = v
	}
	out := make([]subtaskSpec, 0, len(specs))
	for _, s := range specs {
		v := byID[int(s.Vertex)]
		if v == nil || s.Index < 0 || int(s.Index) >= v.Parallelism {
			return nil, fmt.Errorf("%w: no subtask %d of vertex %d in pipeline %q", ErrGraphMismatch, s.Index, s.Vertex, g.Name)
		}
		out = append(out, subtaskSpec{id: int(s.Id), vertex: v, index: int(s.Index), remoteInputs: s.RemoteInputs})
	}
	return out, nil
}
