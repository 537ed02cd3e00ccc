package testkit

import (
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// WithSideOutput records the side output tag of the operator under test,
// whose main output is of type Out, so that SideOutput can return it:
//
//	h := testkit.NewKeyedHarness(t, key, op, testkit.WithSideOutput[Result](lateTag))
//	late := testkit.SideOutput(h, lateTag)
//
// The harness consumes the tag (GetSideOutput) with a sink of its own.
func WithSideOutput[Out, T any](tag operators.OutputTag[T]) HarnessOption {
	return func(c *harnessConfig) {
		c.sides = append(c.sides, func(t testing.TB, out any) sideRecorder {
			t.Helper()
			s, ok := out.(operators.Stream[Out])
			if !ok {
				t.Fatalf("harness: WithSideOutput[%T]: the operator's output is a %T", *new(Out), out)
			}
			side := operators.GetSideOutput(s, tag).Rebalance()
			operators.Discard(side).Name("harness-side-" + tag.ID()).Parallelism(1)
			return &sideOutput[T]{id: tag.ID()}
		})
	}
}

// sideRecorder records one side output of the subtask under test.
type sideRecorder interface {
	tag() string
	ship(batch any)
	event(ev operators.Event)
}

// sideOutput holds the records and events of one side output, in order.
type sideOutput[T any] struct {
	id    string
	items []Item[T]
}

func (s *sideOutput[T]) tag() string { return s.id }

func (s *sideOutput[T]) ship(batch any) {
	for _, e := range batch.(*operators.Batch[T]).Elems {
		s.items = append(s.items, Item[T]{Value: e.Value, Timestamp: e.Timestamp})
	}
}

func (s *sideOutput[T]) event(ev operators.Event) { s.items = append(s.items, Item[T]{Event: ev}) }

// SideOutput returns what the operator under test emitted to tag so far,
// records and events (watermarks, barriers) in order. The harness must
// have been built with WithSideOutput for tag.
func SideOutput[T any](h interface{ sideOf(string) sideRecorder }, tag operators.OutputTag[T]) []Item[T] {
	r := h.sideOf(tag.ID())
	s, ok := r.(*sideOutput[T])
	if !ok {
		panic("testkit: SideOutput(" + tag.ID() + "): build the harness WithSideOutput for this tag and type")
	}
	return append([]Item[T](nil), s.items...)
}

// SideValues returns the values of the records emitted to tag so far.
func SideValues[T any](h interface{ sideOf(string) sideRecorder }, tag operators.OutputTag[T]) []T {
	var vs []T
	for _, it := range SideOutput(h, tag) {
		if it.IsRecord() {
			vs = append(vs, it.Value)
		}
	}
	return vs
}

func (c *core) sideOf(id string) sideRecorder {
	for _, r := range c.sides {
		if r.tag() == id {
			return r
		}
	}
	return nil
}

// attachSides adds the sinks of the side outputs asked for and returns
// the shipper that sends each channel's batches to its recorder.
func (c *core) attachSides(out any, main operators.Shipper) operators.Shipper {
	c.t.Helper()
	if len(c.cfg.sides) == 0 {
		return main
	}
	for _, attach := range c.cfg.sides {
		c.sides = append(c.sides, attach(c.t, out))
	}
	return &demux{c: c, main: main}
}

// demux sends what the subtask ships on a side-output channel to the
// side's recorder, and the rest to the main output.
type demux struct {
	c     *core
	main  operators.Shipper
	byCh  []sideRecorder // nil for the main output's channels
	ready bool
}

func (d *demux) route(ch int) sideRecorder {
	if !d.ready {
		for _, out := range d.c.vertex.OutputChannels(d.c.cfg.subtask) {
			d.byCh = append(d.byCh, d.c.sideOf(out.Edge.Tag))
		}
		d.ready = true
	}
	return d.byCh[ch]
}

func (d *demux) Ship(ch int, batch any) {
	if r := d.route(ch); r != nil {
		r.ship(batch)
		return
	}
	d.main.Ship(ch, batch)
}

func (d *demux) ShipEvent(ch int, ev operators.Event) {
	if r := d.route(ch); r != nil {
		r.event(ev)
		return
	}
	d.main.ShipEvent(ch, ev)
}

// LateRecordsDropped returns how many late records the window operators
// and interval joins under test had to drop (no late side output, or
// nothing consuming it).
func (h *base[Out]) LateRecordsDropped() int64 { return h.chain.LateRecordsDropped() }
