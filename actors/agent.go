package actors

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
)

// agent is the job agent of one attempt of a job run on one node: the
// parent and supervisor of the attempt's subtasks there, and the only
// actor the job master talks to about them. Master ⇄ agent messages are
// those of package wire, local or remote alike; agent ⇄ subtask messages
// are Go values (always local).
//
// Its lifecycle: on Started it spawns its subtasks (restoring their state)
// and answers AgentReady, or AgentFailed and stops; Wire wires their
// channels (answered with AgentWired); Start starts the sources; then it
// relays triggers and completions down and reports up. It stops when the
// master stops it (cancel, failover, end of job) or, on another node,
// when the master is gone: stopping it stops its subtasks first. All its
// fields are touched only from its Receive.
type agent struct {
	spec agentSpec
	log  *slog.Logger

	tasks map[int]*agentTask    // by subtask id
	byPID map[string]*agentTask // by the subtask's PID id
	order []*agentTask          // in spawn order
	peers map[string]bool       // the watched agents on other nodes (pidKey)
	meter *agentMeter           // nil with metrics off
}

// agentSpec is what an agent is started with: StartAgent's content, with
// the graph built, or, for the master's own agent, handed over directly.
type agentSpec struct {
	run, job string
	attempt  int
	index    int    // among the attempt's agents, echoed in its answers
	node     string // for logs
	graph    *operators.JobGraph
	cfg      Config // the node's, with the attempt's runtime settings
	subtasks []subtaskSpec
	master   *actor.PID
	// local: the master is in this process: errors are reported as Go
	// values, which keeps their identity (errors.Is). child: the agent
	// is the master's own child, which stops it with itself.
	local, child bool
	// store is the run's checkpoint store; nil without checkpointing.
	store CheckpointStore
	// restore is the checkpoint the attempt starts from: plan, when the
	// master read it already (its own agent), else the path to read.
	plan    *restorePlan
	restore string
	// mailboxes, if set, receives the subtasks' mailboxes (Job.Mailboxes).
	mailboxes func([]MailboxInfo)
	stats     *remoteStats
	metrics   *metricsTable // the engine's: where the agent publishes its samples
	writers   *storeWork    // the engine's: runs the subtasks' state writes
}

// subtaskSpec is one subtask of the agent.
type subtaskSpec struct {
	id     int
	vertex *operators.Vertex
	index  int
	// remoteInputs: some of its input channels come from other nodes
	remoteInputs bool
}

type agentTask struct {
	subtaskSpec
	pid *actor.PID
}

// agentWired tells the master that the agent's subtasks have their
// deploy messages queued, so sources may start sending to them.
type agentWired = wire.AgentWired

func newAgent(spec agentSpec) *agent {
	return &agent{spec: spec, log: spec.cfg.Logger.With("job", spec.job, "run", spec.run, "attempt", spec.attempt),
		tasks: map[int]*agentTask{}, byPID: map[string]*agentTask{}, peers: map[string]bool{},
		meter: newAgentMeter(spec.cfg.MetricsInterval, spec.metrics)}
}

func (a *agent) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *wire.Wire:
		if a.current(msg) {
			a.wire(ctx, msg)
		}
	case *wire.Start:
		if a.current(msg) {
			a.startSources(ctx, msg.StopSources)
		}
	case *wire.StopSources:
		if a.current(msg) {
			a.toSources(ctx, &stopSourceMsg{})
		}
	case *wire.Trigger:
		if a.current(msg) {
			a.trigger(ctx, msg)
		}
	case *wire.Complete:
		if a.current(msg) {
			a.complete(ctx, msg.Id, msg.Confirm)
		}
	case *wire.CheckpointAborted:
		if a.current(msg) {
			for _, t := range a.order {
				ctx.Send(t.pid, &abortMsg{id: msg.Id})
			}
		}
	case *subtaskFinished:
		a.reportSamples(ctx, []int{msg.id}) // its final counts, sent just before
		a.report(ctx, &wire.SubtaskFinished{Subtask: int32(msg.id)}, nil)
	case *subtaskSample:
		a.onSample(msg)
	case *metricsTick:
		a.onMetricsTick(ctx)
	case *actor.Stopping:
		a.stopMetrics(ctx)
	case *subtaskFailed:
		a.reportFailure(ctx, msg.id, msg.err)
	case *checkpointAck:
		a.reportAck(ctx, msg)
	case *finalCommitted:
		a.report(ctx, &wire.FinalCommitted{Subtask: int32(msg.id), Error: errText(msg.err)}, msg.err)
	case *actor.Terminated:
		a.onTerminated(ctx, msg)
	}
}

// onTerminated: the master gone stops the agent; a peer gone fails the
// attempt. Proto.Actor drops what was queued on a connection that broke,
// and a peer's Terminated (the endpoint's, when the connection broke) is
// how the loss is noticed: batches, credits or barriers lost between two
// nodes would otherwise go unseen, the master's own connections being
// fine.
func (a *agent) onTerminated(ctx actor.Context, t *actor.Terminated) {
	switch {
	case t.Who.Equal(a.spec.master):
		a.log.Warn("job master gone; stopping the job agent and its subtasks", "master", t.Who)
		ctx.Stop(ctx.Self())
	case a.peers[pidKey(t.Who)]:
		delete(a.peers, pidKey(t.Who))
		why := fmt.Sprintf("job agent %s at %s, which exchanges data with this node's subtasks, terminated (%s)", t.Who.Id, t.Who.Address, t.Why)
		a.log.Error("peer lost", "peer", t.Who, "why", t.Why)
		a.report(ctx, &wire.AgentFailed{Kind: wire.FailureKind_FAILURE_PEER_LOST, Error: why, Agent: int32(a.spec.index),
			Peer: pidOf(t.Who)}, fmt.Errorf("%w: %s", ErrNodeLost, why))
	}
}

// fenced is a wire message of one attempt of one run.
type fenced interface {
	GetRun() string
	GetAttempt() int32
}

// current reports whether msg is for this agent's attempt; others are
// dropped (a stale master's, or a previous attempt's).
func (a *agent) current(msg fenced) bool {
	return msg.GetRun() == a.spec.run && int(msg.GetAttempt()) == a.spec.attempt
}

// HandleFailure is called by Proto.Actor when a subtask panics (or one of
// its own child actors, escalated): the failure goes to the master, which
// stops the attempt.
func (a *agent) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	t := a.byPID[child.Id]
	if t == nil {
		sup.StopChildren(child)
		return
	}
	err, ok := reason.(*PanicError)
	if !ok {
		// A panic of a subtask's own child actor arrives without our stack
		// capture; keep it a PanicError so callers can match it.
		err = &PanicError{Value: reason}
	}
	a.reportFailure(sup.(actor.Context), t.id, err)
}

// report sends msg, stamped with the run and attempt, to the master. err
// is the Go error msg describes as text: to a master in this process it
// goes along, so that the job's error keeps its identity.
func (a *agent) report(ctx actor.Context, msg proto.Message, err error) {
	stamp(msg, a.spec.run, a.spec.attempt)
	if a.spec.local {
		ctx.Send(a.spec.master, &localReport{msg: msg, err: err})
		return
	}
	ctx.Send(a.spec.master, msg)
}

func (a *agent) reportFailure(ctx actor.Context, id int, err error) {
	f := &wire.SubtaskFailed{Subtask: int32(id), Error: errText(err), Restore: errors.Is(err, ErrRestore)}
	var pe *PanicError
	if errors.As(err, &pe) {
		f.Panic, f.Error, f.Stack = true, fmt.Sprint(pe.Value), pe.Stack
	}
	a.report(ctx, f, err)
}

func (a *agent) reportAck(ctx actor.Context, ack *checkpointAck) {
	w := &wire.CheckpointAck{Id: ack.id, Task: string(ack.task), Handle: ack.handle, Finished: ack.finished,
		Error: errText(ack.err), Subsumed: isSubsumed(ack.err), States: wireStates(ack.states),
		StateBytes: ack.size, AlignmentNanos: int64(ack.alignment),
		Channels: ack.channels, InflightBytes: ack.inflight, Unaligned: ack.unaligned}
	a.report(ctx, w, ack.err)
}

// fail reports that the agent could not deploy and stops it: its
// subtasks spawned so far stop with it.
func (a *agent) fail(ctx actor.Context, kind wire.FailureKind, err error) {
	a.log.Error("job agent failed", "node", a.spec.node, "err", err)
	a.report(ctx, &wire.AgentFailed{Kind: kind, Error: err.Error(), Agent: int32(a.spec.index)}, err)
	ctx.Stop(ctx.Self())
}

// localReport carries, from an agent to a master in the same process, a
// wire report together with the Go error it describes: errors keep their
// identity (errors.Is) within a process and cross the network as text.
type localReport struct {
	msg proto.Message
	err error
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
