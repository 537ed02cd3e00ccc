package actors

import (
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/persistence"
)

// The agents' reports to the master. Each carries the run and attempt it
// belongs to: a report of another run is dropped, and one of another
// attempt too (a late checkpoint ack still gets its state discarded).
// err is the Go error the report describes when its agent is in this
// process; across the network the report's text stands for it.

func (m *master) onReport(ctx actor.Context, msg proto.Message, err error) {
	f, ok := msg.(fenced)
	if !ok || f.GetRun() != m.job.run {
		return
	}
	if a, ok := msg.(*wire.CheckpointAck); ok {
		m.onCheckpointMsg(ctx, ackFrom(a, err)) // the checkpointer checks the attempt
		return
	}
	if int(f.GetAttempt()) != m.attempt {
		if r, ok := msg.(*wire.AgentReady); ok {
			// An agent of an attempt given up on (its node was thought
			// lost): nothing waits for it.
			ctx.Stop(actor.NewPID(r.Pid.GetAddress(), r.Pid.GetId()))
		}
		return
	}
	switch r := msg.(type) {
	case *wire.AgentReady:
		m.onAgentReady(ctx, r)
	case *wire.AgentFailed:
		m.onAgentFailed(ctx, r, err)
	case *wire.AgentWired:
		m.onAgentWired(ctx, r)
	case *wire.SubtaskFinished:
		if m.refs[int(r.Subtask)] != nil && m.state.live() {
			m.onFinished(ctx, int(r.Subtask))
		}
	case *wire.SubtaskFailed:
		if ref := m.refs[int(r.Subtask)]; ref != nil {
			m.onFailure(ctx, ref, failureFrom(r, err))
		}
	case *wire.FinalCommitted:
		if ref := m.refs[int(r.Subtask)]; ref != nil {
			m.onFinalCommit(ctx, ref, finalFrom(r, err))
		}
	case *wire.AgentMetrics:
		m.onMetrics(r)
	}
}

// onMetrics keeps the samples of the current attempt's subtasks in the
// job's view.
func (m *master) onMetrics(am *wire.AgentMetrics) {
	ms := make([]SubtaskMetrics, 0, len(am.Subtasks))
	for _, w := range am.Subtasks {
		if ref := m.refs[int(w.Subtask)]; ref != nil {
			ms = append(ms, metricsFrom(w, m.graph.Name, m.job.run, m.attempt, ref))
		}
	}
	m.job.recordMetrics(ms)
}

// failureFrom is a subtask's failure: the Go error, or one rebuilt from
// the text (a *PanicError with the stack for a panic).
func failureFrom(f *wire.SubtaskFailed, err error) error {
	switch {
	case err != nil:
		return err
	case f.Panic:
		return &PanicError{Value: f.Error, Stack: f.Stack}
	case f.Restore:
		return &remoteError{msg: f.Error, is: ErrRestore}
	}
	return &remoteError{msg: f.Error}
}

func finalFrom(f *wire.FinalCommitted, err error) error {
	if err != nil || f.Error == "" {
		return err
	}
	return &remoteError{msg: f.Error}
}

// ackFrom turns a wire ack into the checkpointer's.
func ackFrom(a *wire.CheckpointAck, err error) *checkpointAck {
	if err == nil && a.Error != "" {
		err = &remoteError{msg: a.Error}
		if a.Subsumed {
			err = &remoteError{msg: a.Error, is: barrier.ErrSubsumed}
		}
	}
	return &checkpointAck{attempt: int(a.Attempt), id: a.Id, task: barrier.TaskID(a.Task), handle: a.Handle,
		finished: a.Finished, states: statesFrom(a.States), err: err,
		size: a.StateBytes, alignment: time.Duration(a.AlignmentNanos),
		channels: a.Channels, inflight: a.InflightBytes, unaligned: a.Unaligned}
}

// wireStates and statesFrom carry an ack's state summaries over the wire.
func wireStates(states map[string]persistence.StateSummary) []*wire.StateSummary {
	var out []*wire.StateSummary
	for _, name := range slices.Sorted(maps.Keys(states)) {
		s := states[name]
		out = append(out, &wire.StateSummary{Operator: name, Keyed: s.Keyed, OperatorState: s.Operator, Lists: s.Lists, Union: s.Union})
	}
	return out
}

func statesFrom(ws []*wire.StateSummary) map[string]persistence.StateSummary {
	if len(ws) == 0 {
		return nil
	}
	out := make(map[string]persistence.StateSummary, len(ws))
	for _, s := range ws {
		out[s.Operator] = persistence.StateSummary{Keyed: s.Keyed, Operator: s.OperatorState, Lists: s.Lists, Union: s.Union}
	}
	return out
}

// remoteError is an error that crossed the network as text. is, when
// set, is the sentinel the original wrapped on its node, so that
// errors.Is still answers for it.
type remoteError struct {
	msg string
	is  error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.is }

func isSubsumed(err error) bool { return errors.Is(err, barrier.ErrSubsumed) }
