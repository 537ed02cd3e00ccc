package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/mailbox"
	"github.com/troupe-dev/troupe/operators"
)

// start spawns the agent's subtasks with the state they restore and
// answers the master with their PIDs.
func (a *agent) start(ctx actor.Context) {
	if !a.spec.child {
		ctx.Watch(a.spec.master) // a master gone (its node lost) stops the agent
	}
	plan, err := a.restorePlan()
	if err != nil {
		a.fail(ctx, wire.FailureKind_FAILURE_RESTORE, err)
		return
	}
	ready := &wire.AgentReady{Pid: pidOf(ctx.Self()), Agent: int32(a.spec.index)}
	var infos []MailboxInfo
	for _, s := range a.spec.subtasks {
		t, info, err := a.spawn(ctx, s, plan)
		if err != nil {
			a.fail(ctx, wire.FailureKind_FAILURE_DEPLOY, err)
			return
		}
		infos = append(infos, info)
		ready.Subtasks = append(ready.Subtasks, &wire.SubtaskPid{Id: int32(s.id), Pid: pidOf(t.pid)})
	}
	if a.spec.mailboxes != nil {
		a.spec.mailboxes(infos)
	}
	a.report(ctx, ready, nil)
	a.armMetrics(ctx)
}

// restorePlan returns what the agent's subtasks restore: the master's
// plan for its own agent; on another node, the plan of the checkpoint at
// the path the master chose, opened in the run's store (or the shared
// path), for this agent's subtasks only. Either way only the metadata is
// read here: each subtask reads its own parts as it deploys.
func (a *agent) restorePlan() (*restorePlan, error) {
	if a.spec.plan != nil || a.spec.restore == "" {
		return a.spec.plan, nil
	}
	cp, err := openCheckpointAt(a.spec.store, a.spec.cfg.Checkpoint.mem, a.spec.restore)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRestore, err)
	}
	mine := map[*operators.Vertex]map[int]bool{}
	for _, s := range a.spec.subtasks {
		if mine[s.vertex] == nil {
			mine[s.vertex] = map[int]bool{}
		}
		mine[s.vertex][s.index] = true
	}
	plan, err := planFor(cp, a.spec.graph, func(v *operators.Vertex, i int) bool { return mine[v][i] })
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRestore, err)
	}
	return plan, nil
}

// spawn starts one subtask as the agent's child. A subtask with an input
// from another node gets an unbounded mailbox: the fragments of a remote
// batch arrive as messages of their own, as many as its bytes need,
// while credits still bound the logical batches and so the bytes in
// flight (credits × batch). Every other subtask's bounded mailbox can
// never fill (see the package's invariants).
func (a *agent) spawn(ctx actor.Context, s subtaskSpec, plan *restorePlan) (*agentTask, MailboxInfo, error) {
	v, i := s.vertex, s.index
	ins, outs := len(v.InputChannels(i)), len(v.OutputChannels(i))
	// Beyond the windows, an input may hold one priority barrier (an
	// unaligned checkpoint's overdraws its channel by one at most), and an
	// output one credit more (the receiver returns a credit for that
	// barrier too, so the sender it overdrew may see window+1 of them).
	bound := mailbox.Bound(ins, outs, a.spec.cfg.Credits, controlSlack+ins+outs)
	stats := &mailbox.Stats{}
	st := &subtask{id: s.id, jobName: a.spec.job, run: a.spec.run, vertex: v, index: i, attempt: a.spec.attempt,
		cfg: a.spec.cfg, root: ctx.ActorSystem().Root, log: a.log.With("vertex", v.Name, "subtask", i),
		restore: plan.taskOf(v, i), finishedOnRestore: plan.finishedOnRestore(v), store: a.spec.store,
		remoteStats: a.spec.stats, node: a.spec.node}
	st.uploads.owner, st.uploads.log, st.uploads.task = a.spec.writers, st.log, string(taskID(v, i))
	if a.meter != nil {
		st.meter = &subtaskMeter{mailbox: stats}
	}
	st.urgent = &urgentMail{}
	st.yield = st.urgent.waiting
	mb, capacity := actor.Bounded(bound, stats, st.urgent), pow2(bound)
	if s.remoteInputs {
		mb, capacity = actor.Unbounded(stats, st.urgent), 0
	}
	props := actor.PropsFromProducer(func() actor.Actor { return st },
		actor.WithMailbox(mb), actor.WithSupervisor(escalate))
	name := fmt.Sprintf("v%d-%d", v.ID, i)
	pid, err := ctx.SpawnNamed(props, name)
	if err != nil {
		return nil, MailboxInfo{}, fmt.Errorf("spawn subtask %s of %q: %w", name, v.Name, err)
	}
	t := &agentTask{subtaskSpec: s, pid: pid}
	a.tasks[s.id], a.byPID[pid.Id] = t, t
	a.order = append(a.order, t)
	info := MailboxInfo{Subtask: fmt.Sprintf("%s#%d", v.Name, i), Bound: bound, Capacity: capacity, stats: stats}
	return t, info, nil
}

// wire gives each subtask the peers of its channels; a peer on another
// node (its address differs from the agent's) is reached through the
// remote transport.
func (a *agent) wire(ctx actor.Context, w *wire.Wire) {
	for _, sw := range w.Subtasks {
		t := a.tasks[int(sw.Id)]
		if t == nil {
			a.fail(ctx, wire.FailureKind_FAILURE_DEPLOY, fmt.Errorf("actors: wiring of subtask %d, which this agent does not run", sw.Id))
			return
		}
		d, err := a.deployMsg(ctx, t, sw)
		if err != nil {
			a.fail(ctx, wire.FailureKind_FAILURE_DEPLOY, err)
			return
		}
		ctx.Send(t.pid, d)
	}
	for _, p := range w.Peers {
		pid := actor.NewPID(p.GetAddress(), p.GetId())
		a.peers[pidKey(pid)] = true
		ctx.Watch(pid)
	}
	a.report(ctx, &wire.AgentWired{Agent: int32(a.spec.index)}, nil)
}

func (a *agent) deployMsg(ctx actor.Context, t *agentTask, sw *wire.SubtaskWiring) (*deployMsg, error) {
	ins, outs := t.vertex.InputChannels(t.index), t.vertex.OutputChannels(t.index)
	if len(sw.Inputs) != len(ins) || len(sw.Outputs) != len(outs) {
		return nil, fmt.Errorf("actors: wiring of %q subtask %d: %d inputs and %d outputs, want %d and %d",
			t.vertex.Name, t.index, len(sw.Inputs), len(sw.Outputs), len(ins), len(outs))
	}
	self := ctx.Self().Address
	d := &deployMsg{}
	for k, ep := range sw.Inputs {
		d.inputs = append(d.inputs, newEndpoint(ep, ins[k].Edge, self))
	}
	for k, ep := range sw.Outputs {
		d.outputs = append(d.outputs, newEndpoint(ep, outs[k].Edge, self))
	}
	return d, nil
}

func newEndpoint(ep *wire.Endpoint, edge *operators.VertexEdge, self string) endpoint {
	pid := actor.NewPID(ep.GetPid().GetAddress(), ep.GetPid().GetId())
	return endpoint{pid: pid, index: int(ep.Index), edge: edge, remote: pid.Address != self}
}

// startSources starts the job once every subtask is deployed: every
// subtask gets startMsg — sources begin polling, and a subtask that
// restored output channel state sends it, now that its receivers are
// deployed.
func (a *agent) startSources(ctx actor.Context, stop bool) {
	for _, t := range a.order {
		ctx.Send(t.pid, &startMsg{})
	}
	if stop { // a stop asked for before a restart still holds
		a.toSources(ctx, &stopSourceMsg{})
	}
}

func (a *agent) toSources(ctx actor.Context, msg any) {
	for _, t := range a.order {
		if t.vertex.IsSource() {
			ctx.Send(t.pid, msg)
		}
	}
}

func (a *agent) trigger(ctx actor.Context, tr *wire.Trigger) {
	for _, id := range tr.Subtasks {
		if t := a.tasks[int(id)]; t != nil {
			ctx.Send(t.pid, &triggerMsg{id: tr.Id, savepoint: tr.Savepoint, unaligned: tr.Unaligned, deadline: tr.Deadline,
				oldestPending: tr.OldestPending})
		}
	}
}

// complete tells every subtask that checkpoint id is complete; each
// answers the final completion of a finished job, and one to confirm
// (finalCommitted), which the agent relays as FinalCommitted.
func (a *agent) complete(ctx actor.Context, id int64, confirm bool) {
	for _, t := range a.order {
		ctx.Send(t.pid, &completeMsg{id: id, confirm: confirm})
	}
}

func pidOf(p *actor.PID) *wire.Pid { return &wire.Pid{Address: p.Address, Id: p.Id} }

// stamp sets msg's run and attempt fields (every report has both).
func stamp(msg proto.Message, run string, attempt int) {
	m := msg.ProtoReflect()
	fields := m.Descriptor().Fields()
	m.Set(fields.ByName("run"), protoreflect.ValueOfString(run))
	m.Set(fields.ByName("attempt"), protoreflect.ValueOfInt32(int32(attempt)))
}
