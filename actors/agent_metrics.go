package actors

import (
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors/wire"
)

// agentMeter is the agent's side of metrics: every interval it reports
// the samples its subtasks sent since the last report to the master,
// publishes the latest to the engine's table (the node's /metrics), and
// asks each subtask for a new one. A subtask holds at most one request in
// its mailbox (asked), so requests never fill it. All its fields are
// touched only from the agent's Receive.
type agentMeter struct {
	interval time.Duration
	table    *metricsTable
	timer    *ownedTimer            // stopped, and its send awaited, when the agent stops
	latest   map[int]SubtaskMetrics // by subtask id
	fresh    map[int]bool           // sampled since the last report
	asked    map[int]bool           // a sampleMsg waits in the subtask's mailbox
	stopped  bool                   // the agent is stopping: a late tick does nothing
}

// metricsTick drives the agent's meter.
type metricsTick struct{}

func newAgentMeter(interval time.Duration, table *metricsTable) *agentMeter {
	if interval <= 0 || table == nil {
		return nil
	}
	return &agentMeter{interval: interval, table: table, latest: map[int]SubtaskMetrics{},
		fresh: map[int]bool{}, asked: map[int]bool{}}
}

// armMetrics schedules the meter's next tick.
func (a *agent) armMetrics(ctx actor.Context) {
	m := a.meter
	if m == nil {
		return
	}
	m.timer = sendAfter(ctx.ActorSystem().Root, m.interval, ctx.Self(), &metricsTick{})
}

// onMetricsTick reports, publishes and asks; see agentMeter.
func (a *agent) onMetricsTick(ctx actor.Context) {
	m := a.meter
	if m == nil || m.stopped {
		return
	}
	a.reportSamples(ctx, slices.Sorted(maps.Keys(m.fresh)))
	m.table.put(ctx.Self().Id, a.latestSamples())
	for _, t := range a.order {
		if !m.asked[t.id] {
			m.asked[t.id] = true
			ctx.Send(t.pid, &sampleMsg{})
		}
	}
	a.armMetrics(ctx)
}

func (a *agent) onSample(s *subtaskSample) {
	if m := a.meter; m != nil && a.tasks[s.id] != nil {
		m.latest[s.id], m.fresh[s.id], m.asked[s.id] = s.metrics, true, false
	}
}

// reportSamples sends the fresh samples of the subtasks ids to the master.
func (a *agent) reportSamples(ctx actor.Context, ids []int) {
	m := a.meter
	if m == nil {
		return
	}
	am := &wire.AgentMetrics{}
	for _, id := range ids {
		if m.fresh[id] {
			delete(m.fresh, id)
			am.Subtasks = append(am.Subtasks, wireMetrics(id, m.latest[id]))
		}
	}
	if len(am.Subtasks) > 0 {
		a.report(ctx, am, nil)
	}
}

func (a *agent) latestSamples() []SubtaskMetrics {
	out := make([]SubtaskMetrics, 0, len(a.meter.latest))
	for _, t := range a.order {
		if s, ok := a.meter.latest[t.id]; ok {
			out = append(out, s)
		}
	}
	return out
}

// stopMetrics ends the meter as the agent stops: its subtasks leave the
// node's /metrics with it.
func (a *agent) stopMetrics(ctx actor.Context) {
	if m := a.meter; m != nil {
		m.stopped = true
		if m.timer != nil {
			m.timer.stop()
		}
		m.table.remove(ctx.Self().Id)
	}
}
