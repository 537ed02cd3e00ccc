package actors

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
)

// controlSlack is the mailbox room kept, beyond the credit windows, for a
// subtask's control messages: deploy, start, pump, resume, wake, flush,
// the alignment timer, stop, a custom operator's reply (or, once its
// actor has stopped and sends no more, the notice of that stop), a
// metrics request, and Proto.Actor's system messages.
const controlSlack = 12

// master is a job's master actor. It never spawns subtasks itself: each
// attempt is deployed through job agents, one per node that holds some of
// its slots (see agent), which spawn, supervise and relay for the
// subtasks there; the master only talks to the agents, with the messages
// of package wire. It sees subtasks finish or fail, coordinates
// checkpoints, applies the restart strategy and stops the agents.
//
// Without a Placer the attempt's only agent is the master's own child,
// which gets the job graph and the restore plan as Go values.
//
// Its lifecycle is the state machine of master_lifecycle.go: Receive
// turns messages into events, and only master.to changes the state.
type master struct {
	job         *Job
	graph       *operators.JobGraph
	cfg         Config
	log         *slog.Logger
	spec        *JobSpec // nil: submitted as a graph, runs in this process only
	placer      Placer
	fingerprint string

	attempt int
	// firstAttempt is the number of the job's first attempt (1, or
	// FirstAttempt's); attempts above it are restarts.
	firstAttempt int
	// firstCheckpoint is the lowest ID the job's checkpoints may take
	// (FirstCheckpointID; 0: none).
	firstCheckpoint int64
	// epoch is the owner epoch its deploys carry (OwnerEpoch; 0: none).
	epoch uint64
	// guard is asked before each metadata commit (GuardCommits); nil: none.
	guard   func() error
	nextID  int
	refs    map[int]*subtaskRef                 // by subtask id, current attempt only
	grid    map[*operators.Vertex][]*subtaskRef // by vertex, by subtask index
	agents  []*agentRef                         // the current attempt's
	watched map[string]*agentRef                // by the PID (pidKey) of an agent, or of the task manager of one not yet ready
	plan    *restorePlan                        // what the current attempt restores
	// state is where the master is in its lifecycle (master_lifecycle.go);
	// it changes only through to.
	state masterState
	// deploy progress of the current attempt
	pending  int   // agents not yet ready
	unwired  int   // agents not yet wired
	deferred []any // savepoints asked for while deploying, answered once running (or going down)
	alive    int   // agents of this attempt not yet gone
	running  int   // subtasks of this attempt not yet finished
	// placed: Place was called for the current attempt and Release not
	// yet (the Placer's contract: once per attempt, once all agents are
	// gone)
	placed   bool
	failures int
	// stopRequested: a graceful stop was asked for; it is forwarded once,
	// to this attempt's sources or with the next Start. A request, not a
	// state: it outlives attempts.
	stopRequested bool
	ckpt          *checkpointer // nil without checkpointing
	restoreFrom   string        // the checkpoint the job was submitted with
	continued     bool          // ContinueRun: the first attempt resumes the run
	committing    int           // masterCommitting: subtasks yet to confirm the commit
	finished      map[int]bool  // subtasks of this attempt that finished
	finalErr      error         // the first failure of the final commit
	restartCause  error         // the failure the next attempt restarts after
	end           jobEnd        // masterStopping: how the job ends
	delay         time.Duration // masterFailingOver: the restart delay that follows
	restartTimer  *ownedTimer   // masterRestartDelay: sends restartMsg
}

// subtaskRef is one subtask of the current attempt, as the master knows
// it: where it is placed and, once its agent is ready, its PID.
type subtaskRef struct {
	id     int
	vertex *operators.Vertex
	index  int
	agent  *agentRef
	pid    *actor.PID
}

// agentRef is the job agent of the current attempt on one node.
type agentRef struct {
	index    int
	node     string
	tm       *actor.PID // nil: the master's own child
	pid      *actor.PID // known once spawned (own child) or ready
	subtasks []*subtaskRef
	ready    bool
	gone     bool
}

func newMaster(job *Job, g *operators.JobGraph, cfg Config) *master {
	return &master{job: job, graph: g, cfg: cfg, log: cfg.Logger.With("job", g.Name), placer: localPlacer{},
		fingerprint: graphFingerprint(g), firstAttempt: 1}
}

func (m *master) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if err := m.startCheckpointing(); err != nil {
			m.job.addException(m.attempt, err)
			m.stopAll(ctx, jobEnd{JobFailed, err})
			return
		}
		m.to(ctx, evStart)
	case *localReport:
		m.onReport(ctx, msg.msg, msg.err)
	case *wire.AgentReady, *wire.AgentFailed, *wire.AgentWired, *wire.SubtaskFinished,
		*wire.SubtaskFailed, *wire.CheckpointAck, *wire.FinalCommitted, *wire.AgentMetrics:
		m.onReport(ctx, msg.(proto.Message), nil)
	case *savepointMsg:
		msg.taken.Store(true)
		if m.state == masterCreated || m.state == masterDeploying {
			m.deferred = append(m.deferred, msg) // answered once the attempt runs (or fails)
			return
		}
		m.onCheckpointMsg(ctx, msg)
	case *checkpointTick, *metadataReady:
		m.onCheckpointMsg(ctx, msg)
	case *inspectMsg:
		msg.fn(m)
		close(msg.done)
	case *stopSourceMsg:
		m.stopSources(ctx)
	case *cancelMsg:
		// Also during a restart delay or a stop: the job ends cancelled.
		m.stopAll(ctx, jobEnd{JobCancelled, ErrCancelled})
	case *afterStopMsg:
		m.afterStop(ctx)
	case *restartMsg:
		// One sent before a cancel stopped the timer finds another state.
		if msg.attempt == m.attempt && m.state == masterRestartDelay {
			m.to(ctx, evDelayOver)
			m.redeploy(ctx)
		}
	case *actor.Terminated:
		m.onTerminated(ctx, msg)
	}
}

// restartMsg redeploys the job after the restart delay.
type restartMsg struct{ attempt int }

// redeploy starts the next attempt once the restart delay is over and no
// checkpoint's metadata commit is under way. The attempt restores the
// run's newest complete checkpoint, and a checkpoint whose commit is
// under way may yet complete: restoring the one before it would let the
// restored sinks remove, as leftovers, the pending files of the newer
// one, which the sinks of a later restore from it then find gone (its
// epoch lost). So the restart waits for the commit's outcome, as Flink's
// coordinator never picks the checkpoint to restore while one is being
// finalised (both hold its lock). A cancel meanwhile ends the job at once.
func (m *master) redeploy(ctx actor.Context) {
	if m.state != masterAwaitingCommit {
		return
	}
	if m.ckpt.committing() {
		m.log.Info("restart waits for a checkpoint's metadata commit under way", "attempt", m.attempt+1)
		return // onMetadataReady calls again
	}
	m.to(ctx, evCommitSettled)
}

// stopSources ends the sources' input gracefully, once; a stop asked for
// before the sources started is passed on with Start.
func (m *master) stopSources(ctx actor.Context) {
	if m.stopRequested {
		return // once is enough; repeats would only fill source mailboxes
	}
	m.stopRequested = true
	if m.state != masterRunning && m.state != masterCommitting {
		return // not started yet: Start carries it
	}
	for _, ag := range m.agents {
		ctx.Send(ag.pid, &wire.StopSources{Run: m.job.run, Attempt: int32(m.attempt)})
	}
}

// HandleFailure is called by Proto.Actor when the master's own agent
// panics (a subtask's panic goes to its agent, which reports it).
func (m *master) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	sup.StopChildren(child)
	err, ok := reason.(*PanicError)
	if !ok {
		err = &PanicError{Value: reason}
	}
	m.onJobFailure(sup.(actor.Context), err)
}

func (m *master) onFailure(ctx actor.Context, ref *subtaskRef, cause error) {
	attrs := []any{"vertex", ref.vertex.Name, "subtask", ref.index, "node", ref.agent.node, "attempt", m.attempt, "err", cause}
	var pe *PanicError
	if errors.As(cause, &pe) {
		attrs = append(attrs, "stack", string(pe.Stack))
	}
	if m.state.goingDown() {
		// The job is already going down: the first cause stays the job's
		// error, and the subtask stops with the others (its agent was
		// stopped, and a stopping subtask cannot fail: see
		// subtask.shutdown).
		m.log.Warn("subtask failed while the job was stopping", attrs...)
		return
	}
	m.logFailure(slog.LevelError, "subtask failed", attrs...)
	err := m.subtaskError(ref, cause)
	if errors.Is(cause, ErrRestore) {
		m.onRestoreFailure(ctx, err)
		return
	}
	m.failover(ctx, err)
}

// onRestoreFailure: a subtask could not read the state it restores. No
// restart mends that — the next attempt would restore the same
// checkpoint — so the job fails, naming the file (Flink fails the
// restore too), unless the checkpoint's completion was never notified:
// then the restart restores the one before (see planRestore).
func (m *master) onRestoreFailure(ctx actor.Context, err error) {
	if m.plan != nil && m.ckpt.skipUnreadable(m.plan.path, err) {
		m.failover(ctx, err)
		return
	}
	m.fail(ctx, err)
}

func (m *master) subtaskError(ref *subtaskRef, cause error) *SubtaskError {
	return &SubtaskError{Vertex: ref.vertex.Name, Subtask: ref.index, Parallelism: ref.vertex.Parallelism,
		Node: ref.agent.node, Err: cause}
}

// onJobFailure fails the job over for a reason that is no subtask's, such
// as too many failed checkpoints or a lost node.
func (m *master) onJobFailure(ctx actor.Context, err error) {
	if m.state.goingDown() {
		return
	}
	m.logFailure(slog.LevelError, "job failed", "attempt", m.attempt, "err", err)
	m.failover(ctx, err)
}

// failover applies the restart strategy: the job either fails or is
// redeployed after a delay, from the latest complete checkpoint.
func (m *master) failover(ctx actor.Context, err error) {
	if m.ckpt != nil {
		m.ckpt.stop(ctx)
	}
	if m.ckpt.stopEnded() {
		// The job was being stopped with a complete savepoint: stop it,
		// never restart it.
		m.log.Warn("failure while stopping with a savepoint; the job stops", "attempt", m.attempt, "err", err)
		m.endStopped(ctx)
		return
	}
	m.job.setFailure(err)
	m.job.addException(m.attempt, err)
	m.failures++
	restart, delay := m.cfg.Restart.Restart(m.failures, time.Now(), err)
	if !restart {
		m.stopAll(ctx, jobEnd{JobFailed, err})
		return
	}
	m.job.setState(JobRestarting)
	m.restartCause, m.delay = err, delay
	m.logFailure(slog.LevelWarn, "restarting job", "after", delay, "restarts", m.failures, "cause", err)
	m.to(ctx, evFailover) // the delay starts once every agent is gone
	m.afterStop(ctx)
}

// fail ends the job as failed without a restart (an error no restart can
// mend: a checkpoint that cannot be read, nodes that disagree on the
// graph).
func (m *master) fail(ctx actor.Context, err error) {
	if m.state.goingDown() {
		return
	}
	if m.ckpt != nil {
		m.ckpt.stop(ctx)
	}
	m.logFailure(slog.LevelError, "job failed", "attempt", m.attempt, "err", err)
	m.job.addException(m.attempt, err)
	m.stopAll(ctx, jobEnd{JobFailed, err})
}

// stopAll ends the job as end says once every agent of the current
// attempt (and so every subtask) is gone. In a state that goes down
// already (a failover, a restart delay, another stop) the end replaces
// the one planned: a cancel then ends the job cancelled. Once it has
// ended, nothing changes.
func (m *master) stopAll(ctx actor.Context, end jobEnd) {
	if m.state == masterEnded {
		return // a cancel as the job ended
	}
	m.end = end
	m.to(ctx, evStop)
	m.afterStop(ctx)
}

// stopAgents stops every agent of the current attempt; one not yet
// ready is stopped when its AgentReady comes. The savepoints that waited
// for the attempt to run are refused.
func (m *master) stopAgents(ctx actor.Context) {
	for _, ag := range m.agents {
		if ag.pid != nil && !ag.gone {
			ctx.Stop(ag.pid)
		}
	}
	m.answerDeferred(ctx)
}

// afterStop moves on once every agent of a stopping attempt is gone.
func (m *master) afterStop(ctx actor.Context) {
	if (m.state == masterFailingOver || m.state == masterStopping) && m.alive == 0 {
		m.to(ctx, evAgentsGone)
	}
}

// release tells the placer that the attempt's slots are free, once per
// attempt it placed.
func (m *master) release() {
	if m.placed {
		m.placed = false
		m.placer.Release(m.job.run, m.attempt)
	}
}

// complete records the job's end (m.end).
func (m *master) complete(ctx actor.Context) {
	s, err := m.end.state, m.end.err
	if m.ckpt != nil {
		m.ckpt.close(ctx) // before Done: savepoints answered, no goroutine left
	}
	m.log.Info("job ended", "state", s, "err", err)
	if s == JobFailed {
		m.job.setFailure(err)
	}
	m.job.complete(s, err)
}

// answerDeferred handles the requests that waited for the attempt to
// run: it runs now, or is going down and refuses them.
func (m *master) answerDeferred(ctx actor.Context) {
	d := m.deferred
	m.deferred = nil
	for _, msg := range d {
		m.onCheckpointMsg(ctx, msg)
	}
}

// logFailure logs a failure of the job, or its restart, at level; at
// debug level when the job's owner reports failures itself
// (Config.OwnerReportsFailures), so that each is reported once.
func (m *master) logFailure(level slog.Level, msg string, attrs ...any) {
	if m.cfg.OwnerReportsFailures {
		level = slog.LevelDebug
	}
	m.log.Log(context.Background(), level, msg, attrs...)
}

// escalate hands a failure of a subtask's own children (a custom operator's
// actor) up to the job agent.
var escalate = actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.EscalateDirective })

// pow2 is the capacity Proto.Actor's bounded mailbox rounds a size up to.
func pow2(n int) int {
	c := 1
	for c < n {
		c <<= 1
	}
	return c
}

// pidKey identifies a PID across processes.
func pidKey(p *actor.PID) string { return p.Address + "/" + p.Id }
