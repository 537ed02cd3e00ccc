package operators

import (
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/watermark"
)

// A source that cannot emit because its output waits for credit is
// backpressured, not idle (as in Flink, whose idleness timer pauses while
// a source is backpressured): however long it waits, it must not announce
// itself idle, or downstream would advance its watermark past the records
// it holds and they would be late.
//
// Source a (timestamps 0…11, idle timeout 100 ms) ships one batch and
// holds the rest of its poll, its output full; a's chain then sees a
// two seconds of processing time pass, its timer called after each. What it shipped is fed into a window
// operator's first input, then b's watermark at 1 000 000 into its
// second, then, once a's output has room again, the records a held. None
// of a's records may be late.
func TestChain_backpressuredSourceIsNotIdle(t *testing.T) {
	const n = 12
	p := NewPipeline("idle")
	a := FromReader(p, "a", func(tc *TaskContext) (Reader[int], error) { return &burstReader{tc: tc, n: n, w: -1}, nil })
	timed := AssignTimestamps(a, WatermarkStrategy[int]{Strategy: watermark.Strategy{
		NewGenerator: func() watermark.Generator { return watermark.BoundedOutOfOrderness(0) },
		IdleTimeout:  100 * time.Millisecond}})
	b := FromReader(p, "b", func(tc *TaskContext) (Reader[int], error) { return &burstReader{tc: tc, done: true}, nil })
	late := NewOutputTag[int]("late")
	sums := ReduceWindow(Window(KeyBy(Union(timed, b), func(int) int { return 0 }), window.Tumbling(10*time.Millisecond),
		WithLateOutput(late)), func(x, y int) int { return x + y })
	Discard(sums)
	Discard(GetSideOutput(sums, late)) // the window's only output channel
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	clock := newManualClock()
	sh := &fullShipper{limit: 1}
	src, err := g.Vertices[0].Open(ChainConfig{Job: "idle", BatchSize: 4, Ship: sh, Wake: func() {}, OutputFull: sh.full, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	union, unionOut := openNamed(t, g, "union")
	win, winOut := openNamed(t, g, "window")
	if _, err := src.Source.Poll(16); err != nil {
		t.Fatal(err)
	}
	if !src.Pending() {
		t.Fatal("the source holds nothing: its output never filled up")
	}
	for range 2 { // ten idle timeouts each, backpressured all along
		clock.Advance(time.Second)
		src.OnProcessingTime(clock.Now())
	}
	fed, passed := 0, 0
	feed := func() { // a's shipments into the union's channel 0, the union's into the window
		for ; fed < len(sh.events); fed++ {
			feedShipped(t, union, 0, sh.events[fed])
		}
		union.Flush()
		for ; passed < len(unionOut.events); passed++ {
			feedShipped(t, win, 0, unionOut.events[passed])
		}
	}
	feed()
	union.ProcessWatermark(1, 1_000_000) // b's
	feed()
	sh.limit = 1 << 30 // a's output has room again
	if !src.Resume() {
		t.Fatal("the source still holds records with room in its output")
	}
	src.Flush()
	feed()
	win.Flush()
	if n := shippedRecords(winOut); n != 0 {
		t.Fatalf("%d records of a backpressured source were late: it was announced idle while it held them (it shipped %v)",
			n, eventsOf(sh.events))
	}
}

// openNamed opens subtask 0 of the vertex whose name contains name, with
// a shipper that records what it ships.
func openNamed(t *testing.T, g *JobGraph, name string) (*Chain, *recordingShipper) {
	t.Helper()
	for _, v := range g.Vertices {
		if strings.Contains(v.Name, name) {
			sh := &recordingShipper{}
			c, err := v.Open(ChainConfig{Job: "idle", BatchSize: 4, Ship: sh, Wake: func() {}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			return c, sh
		}
	}
	t.Fatalf("no vertex named %q", name)
	return nil, nil
}

// feedShipped hands what a chain shipped to input channel ch of c.
func feedShipped(t *testing.T, c *Chain, ch int, s shipped) {
	t.Helper()
	switch ev := s.ev.(type) {
	case nil:
		if !c.Consume(ch, s.batch) {
			t.Fatal("the window stopped in a batch")
		}
	case Watermark:
		c.ProcessWatermark(ch, ev.Time)
	case StreamStatus:
		c.SetIdle(ch, ev.Idle)
	}
}

// eventsOf describes shipments: events by name, batches as "batch"
// (their records may have been reused since).
func eventsOf(events []shipped) []string {
	var out []string
	for _, s := range events {
		if s.ev != nil {
			out = append(out, s.ev.String())
			continue
		}
		out = append(out, "batch")
	}
	return out
}

// shippedRecords counts the records of the batches sh shipped.
func shippedRecords(sh *recordingShipper) int {
	n := 0
	for _, b := range sh.batches {
		n += len(b.(*Batch[int]).Elems)
	}
	return n
}
