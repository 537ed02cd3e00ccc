package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/mailbox"
	"github.com/troupe-dev/troupe/operators"
)

// controlSlack is the mailbox room kept, beyond the credit windows, for a
// subtask's control messages: deploy, start, pump, wake, flush, stop, a
// custom operator's reply, and Proto.Actor's system messages.
const controlSlack = 8

// master is a job's master actor and the supervisor of its subtasks: it
// deploys them, sees them finish or fail, and stops them. Proto.Actor finds
// its HandleFailure method and calls it when a subtask panics.
type master struct {
	job   *Job
	graph *operators.JobGraph
	cfg   Config
	log   *slog.Logger

	attempt  int
	nextID   int
	refs     map[int]*subtaskRef // by subtask id, current attempt only
	byPID    map[string]*subtaskRef
	running  int // subtasks of this attempt not yet finished
	alive    int // subtask actors of this attempt not yet terminated
	stopping bool
	then     func(ctx actor.Context) // what to do once every subtask stopped
	failures int
	// stopRequested: a graceful stop was asked for; it is forwarded once.
	stopRequested bool
	ckpt          *checkpointer // nil without checkpointing
	restoreFrom   string        // the checkpoint the job was submitted with
	continued     bool          // ContinueRun: the first attempt resumes the run
	committing    int           // subtasks yet to confirm the final commit
	finished      map[int]bool  // subtasks of this attempt that finished
	finalErr      error         // the first failure of the final commit
	restartCause  error         // the failure the next attempt restarts after
}

type subtaskRef struct {
	id     int
	vertex *operators.Vertex
	index  int
	pid    *actor.PID
}

func newMaster(job *Job, g *operators.JobGraph, cfg Config) *master {
	return &master{job: job, graph: g, cfg: cfg, log: cfg.Logger.With("job", g.Name)}
}

func (m *master) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if err := m.startCheckpointing(); err != nil {
			m.complete(ctx, JobFailed, err)
			ctx.Stop(ctx.Self())
			return
		}
		m.deploy(ctx)
	case *subtaskFinished:
		if m.refs[msg.id] != nil && !m.stopping {
			m.onFinished(ctx, msg.id)
		}
	case *checkpointTick, *checkpointAck, *metadataReady, *savepointMsg:
		m.onCheckpointMsg(ctx, msg)
	case *inspectMsg:
		msg.fn(m)
		close(msg.done)
	case *finalCommitted:
		m.onFinalCommit(ctx, msg)
	case *subtaskFailed:
		if ref := m.refs[msg.id]; ref != nil {
			m.onFailure(ctx, ref, msg.err)
		}
	case *stopSourceMsg:
		if m.stopRequested {
			return // once is enough; repeats would only fill source mailboxes
		}
		m.stopRequested = true
		for _, ref := range m.refs {
			if ref.vertex.IsSource() {
				ctx.Send(ref.pid, msg)
			}
		}
	case *cancelMsg:
		if !m.stopping {
			m.stopAll(ctx, func(ctx actor.Context) { m.complete(ctx, JobCancelled, ErrCancelled) })
		} else {
			// Cancel during a restart delay or a stop: end as cancelled.
			m.then = func(ctx actor.Context) { m.complete(ctx, JobCancelled, ErrCancelled) }
			m.afterStop(ctx)
		}
	case *restartMsg:
		if msg.attempt == m.attempt && m.then != nil {
			m.then = nil
			m.stopping = false
			m.deploy(ctx)
		}
	case *actor.Terminated:
		if ref := m.byPID[msg.Who.Id]; ref != nil {
			delete(m.byPID, msg.Who.Id)
			m.alive--
			m.afterStop(ctx)
		}
	}
}

// restartMsg redeploys the job after the restart delay.
type restartMsg struct{ attempt int }

// HandleFailure is called by Proto.Actor when a subtask panics.
func (m *master) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	ref := m.byPID[child.Id]
	if ref == nil {
		sup.StopChildren(child)
		return
	}
	err, ok := reason.(*PanicError)
	if !ok {
		// A panic of a subtask's own child actor arrives without our stack
		// capture; keep it a PanicError so callers can match it.
		err = &PanicError{Value: reason}
	}
	m.onFailure(sup.(actor.Context), ref, err)
}

func (m *master) onFailure(ctx actor.Context, ref *subtaskRef, cause error) {
	attrs := []any{"vertex", ref.vertex.Name, "subtask", ref.index, "attempt", m.attempt, "err", cause}
	var pe *PanicError
	if errors.As(cause, &pe) {
		attrs = append(attrs, "stack", string(pe.Stack))
	}
	if m.stopping {
		// The job is already going down: the first cause stays the job's
		// error, and the subtask stops with the others (its stop was sent,
		// and a stopping subtask cannot fail: see subtask.shutdown).
		m.log.Warn("subtask failed while the job was stopping", attrs...)
		return
	}
	m.log.Error("subtask failed", attrs...)
	m.failover(ctx, &SubtaskError{Vertex: ref.vertex.Name, Subtask: ref.index, Parallelism: ref.vertex.Parallelism, Err: cause})
}

// onJobFailure fails the job over for a reason that is no subtask's, such
// as too many failed checkpoints.
func (m *master) onJobFailure(ctx actor.Context, err error) {
	if m.stopping {
		return
	}
	m.log.Error("job failed", "attempt", m.attempt, "err", err)
	m.failover(ctx, err)
}

// failover applies the restart strategy: the job either fails or is
// redeployed after a delay, from the latest complete checkpoint.
func (m *master) failover(ctx actor.Context, err error) {
	if m.ckpt != nil {
		m.ckpt.stop(ctx)
	}
	m.failures++
	restart, delay := m.cfg.Restart.Restart(m.failures, time.Now(), err)
	if !restart {
		m.stopAll(ctx, func(ctx actor.Context) { m.complete(ctx, JobFailed, err) })
		return
	}
	m.job.setState(JobRestarting)
	m.restartCause = err
	m.log.Warn("restarting job", "after", delay, "restarts", m.failures, "cause", err)
	m.stopAll(ctx, func(ctx actor.Context) {
		attempt, self := m.attempt, ctx.Self()
		m.then = func(actor.Context) {} // waiting for the delay
		root := m.job.engine.sys.Root
		time.AfterFunc(delay, func() { root.Send(self, &restartMsg{attempt: attempt}) })
	})
}

// stopAll stops every subtask of the current attempt and runs then once
// all have terminated.
func (m *master) stopAll(ctx actor.Context, then func(actor.Context)) {
	m.stopping = true
	m.then = then
	for _, ref := range m.byPID {
		ctx.Stop(ref.pid)
	}
	m.afterStop(ctx)
}

func (m *master) afterStop(ctx actor.Context) {
	if !m.stopping || m.alive > 0 || m.then == nil {
		return
	}
	then := m.then
	m.then = nil
	then(ctx)
	if m.then == nil && m.job.State().Terminal() {
		ctx.Stop(ctx.Self())
	}
}

func (m *master) complete(ctx actor.Context, s JobState, err error) {
	if m.ckpt != nil {
		m.ckpt.close(ctx) // before Done: savepoints answered, no goroutine left
	}
	m.log.Info("job ended", "state", s, "err", err)
	m.job.complete(s, err)
}

// deploy spawns every subtask (attempt m.attempt+1), wires their channels,
// then lets the sources start.
func (m *master) deploy(ctx actor.Context) {
	m.attempt++
	plan, err := m.restorePlan()
	if err != nil {
		m.stopping = true
		m.complete(ctx, JobFailed, err)
		ctx.Stop(ctx.Self())
		return
	}
	if m.attempt > 1 {
		m.notifyRestart(plan)
	}
	m.refs = make(map[int]*subtaskRef)
	m.byPID = make(map[string]*subtaskRef)
	m.finished = map[int]bool{}
	// A failure during the previous attempt's final commit left its count
	// of confirmations waiting; this attempt commits anew.
	m.committing, m.finalErr = 0, nil
	pids := make(map[*operators.Vertex][]*actor.PID)
	var infos []MailboxInfo
	var order []*subtaskRef
	for _, v := range m.graph.Vertices {
		for i := range v.Parallelism {
			ref, info, err := m.spawn(ctx, v, i, plan.partsOf(v, i), plan.finishedOnRestore(v))
			if err != nil {
				m.onFailure(ctx, &subtaskRef{vertex: v, index: i}, err)
				return
			}
			pids[v] = append(pids[v], ref.pid)
			infos = append(infos, info)
			order = append(order, ref)
		}
	}
	m.job.setMailboxes(infos)
	for _, ref := range order {
		ctx.Send(ref.pid, wiring(ref, pids))
	}
	for _, ref := range order {
		if ref.vertex.IsSource() {
			ctx.Send(ref.pid, &startMsg{})
			if m.stopRequested { // a stop asked for before a restart still holds
				ctx.Send(ref.pid, &stopSourceMsg{})
			}
		}
	}
	m.running = len(order)
	m.job.setState(JobRunning)
	if m.ckpt != nil {
		m.ckpt.start(ctx)
	}
}

func (m *master) spawn(ctx actor.Context, v *operators.Vertex, i int, restore map[string][]*operators.OperatorState, finished bool) (*subtaskRef, MailboxInfo, error) {
	m.nextID++
	ref := &subtaskRef{id: m.nextID, vertex: v, index: i}
	ins, outs := len(v.InputChannels(i)), len(v.OutputChannels(i))
	bound := mailbox.Bound(ins, outs, m.cfg.Credits, controlSlack)
	stats := &mailbox.Stats{}
	st := &subtask{id: ref.id, job: m.job, vertex: v, index: i, attempt: m.attempt, cfg: m.cfg,
		log: m.log.With("vertex", v.Name, "subtask", i), net: localTransport{}, restore: restore,
		finishedOnRestore: finished}
	if m.ckpt != nil {
		st.store = m.ckpt.store
	}
	props := actor.PropsFromProducer(func() actor.Actor { return st },
		actor.WithMailbox(actor.Bounded(bound, stats)),
		actor.WithSupervisor(escalate))
	name := fmt.Sprintf("a%d-v%d-%d", m.attempt, v.ID, i)
	pid, err := ctx.SpawnNamed(props, name)
	if err != nil {
		return nil, MailboxInfo{}, fmt.Errorf("spawn %s: %w", name, err)
	}
	ref.pid = pid
	m.refs[ref.id], m.byPID[pid.Id] = ref, ref
	m.alive++
	info := MailboxInfo{Subtask: fmt.Sprintf("%s#%d", v.Name, i), Bound: bound, Capacity: pow2(bound), stats: stats}
	return ref, info, nil
}

// wiring tells a subtask the peers of its input and output channels.
func wiring(ref *subtaskRef, pids map[*operators.Vertex][]*actor.PID) *deployMsg {
	d := &deployMsg{}
	for _, ch := range ref.vertex.InputChannels(ref.index) {
		d.inputs = append(d.inputs, endpoint{pid: pids[ch.Edge.From][ch.Remote], index: ch.Edge.SenderIndex(ref.index)})
	}
	for _, ch := range ref.vertex.OutputChannels(ref.index) {
		d.outputs = append(d.outputs, endpoint{pid: pids[ch.Edge.To][ch.Remote], index: ch.Edge.ReceiverIndex(ref.index)})
	}
	return d
}

// escalate hands a failure of a subtask's own children (a custom operator's
// actor) up to the job master.
var escalate = actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.EscalateDirective })

// pow2 is the capacity Proto.Actor's bounded mailbox rounds a size up to.
func pow2(n int) int {
	c := 1
	for c < n {
		c <<= 1
	}
	return c
}
