package testkit

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// EventTimeHarness runs one subtask of a keyed operator whose input is
// keyed after operators.AssignTimestamps, as in
//
//	timed := operators.AssignTimestamps(clicks, ws)
//	sessions := op(operators.KeyBy(timed, key))
//
// The test feeds records alone: the harness runs the timestamp assigner
// upstream with ws, so the strategy's Timestamp stamps them and its
// generator makes the watermarks — after each record (punctuated and
// per-event generators) and as processing time passes the strategy's
// interval (periodic ones) or its idle timeout — exactly as the
// assigner's subtask does in a job. It is a Harness otherwise: output,
// state, timers, snapshots, side outputs.
type EventTimeHarness[In, Out any] struct {
	base[Out]
	owns    func(In) error
	pending []In // records the upstream source emits at its next poll
	ended   bool // EndInput: the upstream source is done
}

// NewEventTimeHarness builds an EventTimeHarness for op, keyed by key
// after a timestamp assigner with ws. With WithSubtask, only records whose
// key the subtask owns may be fed.
func NewEventTimeHarness[In any, K comparable, Out any](t testing.TB, ws operators.WatermarkStrategy[In], key func(In) K,
	op func(operators.KeyedStream[In, K]) operators.Stream[Out], opts ...HarnessOption) *EventTimeHarness[In, Out] {
	t.Helper()
	h := &EventTimeHarness[In, Out]{base: base[Out]{core: core{t: t, cfg: newHarnessConfig(opts)}}}
	p := harnessPipeline(h.cfg)
	src := operators.FromReader(p, "harness-input", func(*operators.TaskContext) (operators.Reader[In], error) {
		return eventTimeReader[In, Out]{h}, nil
	}).Name("harness-input-1").Parallelism(1)
	timed := operators.AssignTimestamps(src, ws).Name("harness-timestamps").Parallelism(1)
	h.finish(p, op(operators.KeyBy(timed, key)), 1)
	h.owns = func(v In) error { return ownsKey(h.cfg, key(v)) }
	h.openUpstream()
	return h
}

// ProcessElement feeds one record; its timestamp is the strategy's.
func (h *EventTimeHarness[In, Out]) ProcessElement(v In) {
	h.t.Helper()
	if err := h.owns(v); err != nil {
		h.t.Fatalf("harness: %v", err)
	}
	h.run(fmt.Sprintf("record %v", v), func() {
		h.pending = append(h.pending, v)
		h.pollUpstream()
	})
}

// ProcessElements feeds records one after another.
func (h *EventTimeHarness[In, Out]) ProcessElements(vs ...In) {
	h.t.Helper()
	for _, v := range vs {
		h.ProcessElement(v)
	}
}

// EndInput ends the input: the assigner passes the final watermark on,
// then the operators under test end (see Harness.EndInput).
func (h *EventTimeHarness[In, Out]) EndInput() {
	h.t.Helper()
	h.run("end of the assigner's input", func() {
		h.ended = true
		h.pollUpstream()
		if err := h.upstream.EndInput(); err != nil {
			h.fail("end of the assigner's input", err)
		}
		h.upstream.Flush()
	})
	h.base.EndInput()
}

// pollUpstream lets the source emit the pending records through the
// assigner, whose output reaches the subtask under test at once.
func (h *EventTimeHarness[In, Out]) pollUpstream() {
	for len(h.pending) > 0 && h.upstream.Err() == nil {
		if _, err := h.upstream.Source.Poll(len(h.pending)); err != nil {
			h.fail("timestamp assigner", err)
			return
		}
	}
	h.upstream.Flush()
	if err := h.upstream.Err(); err != nil {
		h.fail("timestamp assigner", err)
	}
}

// eventTimeReader is the harness's source: it emits the records the test
// fed, without timestamps, and ends when the test ends the input.
type eventTimeReader[In, Out any] struct{ h *EventTimeHarness[In, Out] }

func (r eventTimeReader[In, Out]) Poll(out operators.Collector[In], max int) (operators.Poll, error) {
	n := min(max, len(r.h.pending))
	for _, v := range r.h.pending[:n] {
		out.Collect(v, operators.NoTimestamp)
	}
	r.h.pending = r.h.pending[n:]
	switch {
	case len(r.h.pending) > 0:
		return operators.Poll{Status: operators.PollMore}, nil
	case r.h.ended:
		return operators.Poll{Status: operators.PollDone}, nil
	}
	return operators.Poll{Status: operators.PollWait}, nil
}

func (r eventTimeReader[In, Out]) Close() error { return nil }

// openUpstream opens the source vertex (the harness's input and the
// assigner), shipping its output into the subtask under test.
func (c *core) openUpstream() {
	c.t.Helper()
	up, err := c.graph.Vertices[0].Open(operators.ChainConfig{Job: "harness", BatchSize: 1, Ship: upstreamShipper{c},
		Logger: slog.New(slog.DiscardHandler), Now: c.clock.Now, Wake: func() {}, Host: c.host})
	if err != nil {
		c.t.Fatalf("harness: open the timestamp assigner: %v", err)
	}
	c.upstream = up
	c.t.Cleanup(func() {
		if err := up.Close(); err != nil && c.err == nil {
			c.t.Errorf("harness: close the timestamp assigner: %v", err)
		}
	})
}

// upstreamShipper hands what the assigner emits for the subtask under
// test to its input channel, as the channel between them would.
type upstreamShipper struct{ c *core }

func (s upstreamShipper) Ship(ch int, batch any) {
	if ch == s.c.cfg.subtask {
		s.c.chain.Consume(s.c.inputCh[0], batch)
	}
}

func (s upstreamShipper) ShipEvent(ch int, ev operators.Event) {
	if ch != s.c.cfg.subtask {
		return
	}
	switch e := ev.(type) {
	case operators.Watermark:
		s.c.chain.ProcessWatermark(s.c.inputCh[0], e.Time)
	case operators.StreamStatus:
		s.c.chain.SetIdle(s.c.inputCh[0], e.Idle)
	}
}
