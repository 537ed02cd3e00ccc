package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
)

// The deploy of one attempt: place its slots, start one job agent per
// node (StartAgent to the node's task manager, or the master's own
// child), and when every agent has answered AgentReady with its
// subtasks' PIDs, wire them (Wire, answered AgentWired), then let the
// sources start (Start). An agent that fails, or whose node is lost,
// fails the attempt.

// deploy starts attempt m.attempt+1 (entering masterDeploying).
func (m *master) deploy(ctx actor.Context) {
	m.attempt++
	plan, err := m.restorePlan()
	if err != nil {
		m.job.addException(m.attempt, err)
		m.stopAll(ctx, jobEnd{JobFailed, err})
		return
	}
	if m.attempt > m.firstAttempt {
		m.notifyRestart(plan)
	}
	m.resetAttempt(plan)
	m.job.resetMetrics()
	m.placed = true // Release follows, whatever Place answers
	slots, err := m.place()
	if err != nil {
		m.failover(ctx, err)
		return
	}
	m.assign(slots)
	m.pending, m.unwired, m.alive = len(m.agents), len(m.agents), len(m.agents)
	for i, ag := range m.agents {
		if err := m.startAgent(ctx, ag); err != nil {
			for _, rest := range m.agents[i:] { // this one and those not started
				rest.gone = true
				m.alive--
				m.pending--
			}
			m.failover(ctx, err)
			return
		}
	}
}

// resetAttempt clears what belonged to the previous attempt.
func (m *master) resetAttempt(plan *restorePlan) {
	m.plan = plan
	m.refs, m.grid = map[int]*subtaskRef{}, map[*operators.Vertex][]*subtaskRef{}
	m.agents, m.watched = nil, map[string]*agentRef{}
	m.finished = map[int]bool{}
	// A failure during the previous attempt's final commit left its count
	// of confirmations waiting; this attempt commits anew.
	m.committing, m.finalErr = 0, nil
}

// slotCount is how many slots the job needs: its highest parallelism.
func (m *master) slotCount() int {
	n := 0
	for _, v := range m.graph.Vertices {
		n = max(n, v.Parallelism)
	}
	return n
}

func (m *master) place() ([]Slot, error) {
	n := m.slotCount()
	slots, err := m.placer.Place(m.job.run, m.attempt, n)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlacement, err)
	}
	if err := checkSlots(slots, n); err != nil {
		return nil, err
	}
	for _, s := range slots {
		if s.TaskManager != nil && m.spec == nil {
			return nil, fmt.Errorf("%w: a job submitted as a graph runs only in its master's process "+
				"(submit it with SubmitSpec to place it on task managers)", ErrPlacement)
		}
	}
	return slots, nil
}

// assign makes the attempt's subtask refs and groups them into one agent
// per task manager (slot i holds subtask i of every vertex).
func (m *master) assign(slots []Slot) {
	byTM := map[string]*agentRef{}
	var placement []VertexPlacement
	for _, v := range m.graph.Vertices {
		vp := VertexPlacement{Vertex: v.Name, Parallelism: v.Parallelism}
		for i := range v.Parallelism {
			key := ""
			if slots[i].TaskManager != nil {
				key = pidKey(slots[i].TaskManager)
			}
			ag := byTM[key]
			if ag == nil {
				ag = &agentRef{index: len(m.agents), node: slots[i].Node, tm: slots[i].TaskManager}
				byTM[key] = ag
				m.agents = append(m.agents, ag)
			}
			m.nextID++
			ref := &subtaskRef{id: m.nextID, vertex: v, index: i, agent: ag}
			m.refs[ref.id] = ref
			m.grid[v] = append(m.grid[v], ref)
			ag.subtasks = append(ag.subtasks, ref)
			vp.Nodes = append(vp.Nodes, slots[i].Node)
		}
		placement = append(placement, vp)
	}
	m.job.setPlacement(placement)
}

// remoteInputs reports whether some input channel of ref comes from a
// subtask of another agent.
func (m *master) remoteInputs(ref *subtaskRef) bool {
	for _, ch := range ref.vertex.InputChannels(ref.index) {
		if m.grid[ch.Edge.From][ch.Remote].agent != ref.agent {
			return true
		}
	}
	return false
}

func (m *master) startAgent(ctx actor.Context, ag *agentRef) error {
	if ag.tm == nil {
		return m.spawnAgent(ctx, ag)
	}
	sa := &wire.StartAgent{Run: m.job.run, Attempt: int32(m.attempt), Master: pidOf(ctx.Self()), Job: m.graph.Name,
		Spec: wireSpec(m.spec, m.fingerprint), Config: m.runtimeConfig(), Slots: int32(m.agentSlots(ag)),
		Node: ag.node, Agent: int32(ag.index), Epoch: m.epoch}
	if m.plan != nil {
		sa.Restore = m.plan.path
	}
	for _, ref := range ag.subtasks {
		sa.Subtasks = append(sa.Subtasks, &wire.SubtaskSpec{Id: int32(ref.id), Vertex: int32(ref.vertex.ID),
			Index: int32(ref.index), RemoteInputs: m.remoteInputs(ref)})
	}
	// Until the agent is ready its task manager stands for it: if the
	// node is lost, the task manager's Terminated fails the attempt.
	m.watched[pidKey(ag.tm)] = ag
	ctx.Watch(ag.tm)
	ctx.Send(ag.tm, sa)
	return nil
}

// spawnAgent starts the master's own agent, handing it the graph and the
// restore plan directly.
func (m *master) spawnAgent(ctx actor.Context, ag *agentRef) error {
	spec := agentSpec{run: m.job.run, job: m.graph.Name, attempt: m.attempt, index: ag.index, node: ag.node,
		graph: m.graph, cfg: m.cfg, master: ctx.Self(), local: true, child: true, plan: m.plan,
		mailboxes: m.job.setMailboxes, stats: &m.job.engine.stats, metrics: &m.job.engine.metrics,
		writers: &m.job.engine.writers}
	if m.ckpt != nil {
		spec.store = m.ckpt.store
	}
	for _, ref := range ag.subtasks {
		spec.subtasks = append(spec.subtasks, subtaskSpec{id: ref.id, vertex: ref.vertex, index: ref.index,
			remoteInputs: m.remoteInputs(ref)})
	}
	props := actor.PropsFromProducer(func() actor.Actor { return newAgent(spec) })
	pid, err := ctx.SpawnNamed(props, fmt.Sprintf("a%d", m.attempt))
	if err != nil {
		return fmt.Errorf("actors: spawn the job agent of attempt %d: %w", m.attempt, err)
	}
	ag.pid = pid
	m.watched[pidKey(pid)] = ag // its child: Terminated comes without a watch
	return nil
}

// agentSlots is how many slots the agent's subtasks occupy.
func (m *master) agentSlots(ag *agentRef) int {
	seen := map[int]bool{}
	for _, ref := range ag.subtasks {
		seen[ref.index] = true
	}
	return len(seen)
}

// runtimeConfig is what every subtask of the attempt must agree on.
func (m *master) runtimeConfig() *wire.RuntimeConfig {
	return &wire.RuntimeConfig{BatchSize: int32(m.cfg.BatchSize), BufferTimeoutNanos: int64(m.cfg.BufferTimeout),
		Credits: int32(m.cfg.Credits), Checkpointing: m.ckpt != nil, AtLeastOnce: m.cfg.Checkpoint.AtLeastOnce,
		CheckpointTimeoutNanos: int64(m.cfg.Checkpoint.Timeout), StateBackend: m.cfg.StateBackend,
		BatchBytes: int32(m.cfg.BatchBytes), StateCacheEntries: int32(m.cfg.StateCacheEntries),
		MaxAsyncCapacity: int32(m.cfg.MaxAsyncCapacity)}
}

// agentOf returns the current attempt's agent with the given index.
func (m *master) agentOf(index int32) *agentRef {
	if index < 0 || int(index) >= len(m.agents) {
		return nil
	}
	return m.agents[index]
}

func (m *master) onAgentReady(ctx actor.Context, r *wire.AgentReady) {
	ag := m.agentOf(r.Agent)
	if ag == nil || ag.ready || ag.gone {
		return
	}
	pid := actor.NewPID(r.Pid.GetAddress(), r.Pid.GetId())
	ag.ready = true
	if ag.tm != nil {
		delete(m.watched, pidKey(ag.tm))
		ctx.Unwatch(ag.tm)
		ag.pid = pid
		m.watched[pidKey(pid)] = ag
		ctx.Watch(pid)
	}
	for _, sp := range r.Subtasks {
		if ref := m.refs[int(sp.Id)]; ref != nil {
			ref.pid = actor.NewPID(sp.Pid.GetAddress(), sp.Pid.GetId())
		}
	}
	m.pending--
	if m.state.goingDown() {
		ctx.Stop(ag.pid)
		return
	}
	if m.pending == 0 {
		m.wireAll(ctx)
	}
}

// wireAll tells every agent the peers of its subtasks' channels, and
// the agents on other nodes it exchanges data with.
func (m *master) wireAll(ctx actor.Context) {
	for _, ag := range m.agents {
		w := &wire.Wire{Run: m.job.run, Attempt: int32(m.attempt)}
		for _, ref := range ag.subtasks {
			w.Subtasks = append(w.Subtasks, m.wiring(ref))
		}
		for _, peer := range m.peersOf(ag) {
			w.Peers = append(w.Peers, pidOf(peer.pid))
		}
		ctx.Send(ag.pid, w)
	}
}

// peersOf returns the agents on other nodes (other addresses) that have
// a channel to or from one of ag's subtasks.
func (m *master) peersOf(ag *agentRef) []*agentRef {
	seen := map[*agentRef]bool{}
	var peers []*agentRef
	add := func(other *agentRef) {
		if other != ag && !seen[other] && other.pid.Address != ag.pid.Address {
			seen[other] = true
			peers = append(peers, other)
		}
	}
	for _, ref := range ag.subtasks {
		for _, ch := range ref.vertex.InputChannels(ref.index) {
			add(m.grid[ch.Edge.From][ch.Remote].agent)
		}
		for _, ch := range ref.vertex.OutputChannels(ref.index) {
			add(m.grid[ch.Edge.To][ch.Remote].agent)
		}
	}
	return peers
}

// wiring lists the peers of a subtask's channels.
func (m *master) wiring(ref *subtaskRef) *wire.SubtaskWiring {
	sw := &wire.SubtaskWiring{Id: int32(ref.id)}
	for _, ch := range ref.vertex.InputChannels(ref.index) {
		peer := m.grid[ch.Edge.From][ch.Remote]
		sw.Inputs = append(sw.Inputs, &wire.Endpoint{Pid: pidOf(peer.pid), Index: int32(ch.Edge.SenderIndex(ref.index))})
	}
	for _, ch := range ref.vertex.OutputChannels(ref.index) {
		peer := m.grid[ch.Edge.To][ch.Remote]
		sw.Outputs = append(sw.Outputs, &wire.Endpoint{Pid: pidOf(peer.pid), Index: int32(ch.Edge.ReceiverIndex(ref.index))})
	}
	return sw
}

func (m *master) onAgentWired(ctx actor.Context, w *wire.AgentWired) {
	if ag := m.agentOf(w.Agent); ag == nil || m.state != masterDeploying {
		return
	}
	if m.unwired--; m.unwired > 0 {
		return
	}
	m.to(ctx, evWired)
}

// startRunning lets the sources start (entering masterRunning).
func (m *master) startRunning(ctx actor.Context) {
	for _, ag := range m.agents {
		ctx.Send(ag.pid, &wire.Start{Run: m.job.run, Attempt: int32(m.attempt), StopSources: m.stopRequested})
	}
	m.running = len(m.refs)
	m.job.setState(JobRunning)
	if m.ckpt != nil {
		m.ckpt.start(ctx)
	}
	m.answerDeferred(ctx)
}

// onAgentFailed: an agent could not deploy, or lost a peer. A checkpoint
// that cannot be read, or nodes that build different graphs, fail the
// job; anything else fails the attempt, which the restart strategy may
// redeploy.
func (m *master) onAgentFailed(ctx actor.Context, f *wire.AgentFailed, err error) {
	ag := m.agentOf(f.Agent)
	if ag == nil || ag.gone {
		return
	}
	if !ag.ready {
		// Nothing of it is left but the actor that reported, which stops.
		ag.gone = true
		m.alive--
		m.pending--
		if ag.tm != nil {
			delete(m.watched, pidKey(ag.tm))
			ctx.Unwatch(ag.tm)
		} else {
			delete(m.watched, pidKey(ag.pid))
		}
	}
	switch {
	case f.Kind == wire.FailureKind_FAILURE_PEER_LOST:
		err = m.peerLost(ag, f)
	case err == nil:
		err = agentError(f)
	}
	if ag.node != "" && f.Kind != wire.FailureKind_FAILURE_PEER_LOST {
		err = fmt.Errorf("node %s: %w", ag.node, err)
	}
	switch f.Kind {
	case wire.FailureKind_FAILURE_RESTORE, wire.FailureKind_FAILURE_CONFIG: // no restart mends these
		m.fail(ctx, err)
		m.afterStop(ctx)
	default:
		m.onJobFailure(ctx, err)
		m.afterStop(ctx)
	}
}

// peerLost names the node an agent lost its peer on: the lost node
// first, then who saw it.
func (m *master) peerLost(seenBy *agentRef, f *wire.AgentFailed) error {
	lost := "an unknown node"
	if p := f.GetPeer(); p != nil {
		key := pidKey(actor.NewPID(p.Address, p.Id))
		for _, ag := range m.agents {
			if ag.pid != nil && pidKey(ag.pid) == key {
				lost = nodeName(ag)
			}
		}
	}
	return fmt.Errorf("%w: %s: seen from %s: %s", ErrNodeLost, lost, nodeName(seenBy), f.Error)
}

// agentError rebuilds an agent's failure from its text.
func agentError(f *wire.AgentFailed) error {
	switch f.Kind {
	case wire.FailureKind_FAILURE_RESTORE:
		return &remoteError{msg: f.Error, is: ErrRestore}
	case wire.FailureKind_FAILURE_CONFIG:
		return &remoteError{msg: f.Error, is: ErrGraphMismatch}
	case wire.FailureKind_FAILURE_PEER_LOST:
		return &remoteError{msg: f.Error, is: ErrNodeLost}
	case wire.FailureKind_FAILURE_SUPERSEDED:
		return &remoteError{msg: f.Error, is: ErrSuperseded}
	}
	return &remoteError{msg: f.Error}
}

// onTerminated: an agent of the attempt is gone, or the task manager of
// one not yet ready. Unless the master stopped it, its node is lost (or
// the agent was stopped from outside): the attempt fails.
func (m *master) onTerminated(ctx actor.Context, t *actor.Terminated) {
	key := pidKey(t.Who)
	ag := m.watched[key]
	if ag == nil {
		return
	}
	delete(m.watched, key)
	if ag.gone {
		return
	}
	ag.gone = true
	m.alive--
	if !ag.ready {
		m.pending--
	}
	if !m.state.goingDown() {
		what := "job agent"
		if !ag.ready && ag.tm != nil {
			what = "task manager"
		}
		m.onJobFailure(ctx, fmt.Errorf("%w: %s: %s %s terminated (%s)", ErrNodeLost, nodeName(ag), what, t.Who, t.Why))
	}
	m.afterStop(ctx)
}

func nodeName(ag *agentRef) string {
	if ag.node == "" {
		return "the job master's process"
	}
	return "node " + ag.node
}
