package operators

import (
	"errors"
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/persistence"
)

// burstReader emits n records in one poll, with watermark w emitted right
// after record w (or, if event is set, that event), then ends.
type burstReader struct {
	tc    *TaskContext
	n, w  int
	event Event
	done  bool
}

func (r *burstReader) Poll(out Collector[int], _ int) (Poll, error) {
	if r.done {
		return Poll{Status: PollDone}, nil
	}
	for i := range r.n {
		out.Collect(i, int64(i))
		switch {
		case i == r.w && r.event != nil:
			r.tc.EmitEvent(r.event)
		case i == r.w:
			r.tc.EmitWatermark(int64(i))
		}
	}
	r.done = true
	return Poll{Status: PollDone}, nil
}

func (r *burstReader) Close() error { return nil }

// fullShipper is a recordingShipper whose output is full once limit
// batches have been shipped, until the test empties it.
type fullShipper struct {
	recordingShipper
	limit int
}

func (s *fullShipper) full() bool { return len(s.batches) >= s.limit }

// shippedValues returns the values shipped before and after the first
// watermark.
func (s *fullShipper) shippedValues() (before, after []int, sawWatermark bool) {
	for _, e := range s.events {
		if _, ok := e.ev.(Watermark); ok {
			sawWatermark = true
		}
		if b, ok := e.batch.(*Batch[int]); ok {
			for _, el := range b.Elems {
				if sawWatermark {
					after = append(after, el.Value)
				} else {
					before = append(before, el.Value)
				}
			}
		}
	}
	return before, after, sawWatermark
}

// openHeld opens subtask 0 of the graph's vertex v with batches of 4 and
// a shipper that is full after one batch.
func openHeld(t *testing.T, p *Pipeline, v int) (*Chain, *fullShipper) {
	t.Helper()
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	sh := &fullShipper{limit: 1}
	c, err := g.Vertices[v].Open(ChainConfig{Job: "held", BatchSize: 4, Ship: sh, Wake: func() {}, OutputFull: sh.full})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, sh
}

// tripled is every value below n times 3, 3v+0 … 3v+2, in order.
func tripled(n int) []int {
	var out []int
	for v := range n {
		out = append(out, 3*v, 3*v+1, 3*v+2)
	}
	return out
}

func triple(s Stream[int]) Stream[int] {
	return FlatMap(s, func(v int, emit func(int)) { emit(3 * v); emit(3*v + 1); emit(3*v + 2) })
}

// A source whose poll fans out past what its output can take holds the
// rest of the poll — records and the watermark between them, in order —
// is not ready to snapshot meanwhile (its read position counts what it
// holds), and releases it all once the output has room.
func TestChain_sourceHoldsWhatTheOutputCannotTake(t *testing.T) {
	p := NewPipeline("held")
	src := FromReader(p, "burst", func(tc *TaskContext) (Reader[int], error) { return &burstReader{tc: tc, n: 10, w: 4}, nil })
	Discard(triple(src).Rebalance())
	c, sh := openHeld(t, p, 0)
	if _, err := c.Source.Poll(16); err != nil {
		t.Fatal(err)
	}
	// record 0 fills 3 of 4, record 1 ships the first batch: full
	if !c.Pending() || len(sh.batches) != 1 {
		t.Fatalf("after the poll: pending %v, %d batches shipped; want pending after 1 batch", c.Pending(), len(sh.batches))
	}
	if c.PrepareSnapshot(1) {
		t.Fatal("PrepareSnapshot is ready while the source holds records")
	}
	if c.Resume() {
		t.Fatal("Resume released everything while the output is still full")
	}
	sh.limit = 1 << 30 // room again
	if !c.Resume() || c.Pending() || !c.PrepareSnapshot(1) {
		t.Fatalf("after Resume with room: pending %v, ready %v", c.Pending(), c.PrepareSnapshot(1))
	}
	c.Flush()
	before, after, sawWM := sh.shippedValues()
	if !sawWM {
		t.Fatal("the watermark was lost")
	}
	want := tripled(10)
	if got := append(before, after...); !slices.Equal(got, want) {
		t.Fatalf("shipped %v, want %v", got, want)
	}
	if !slices.Equal(before, want[:15]) {
		t.Fatalf("before the watermark: %v, want the outputs of records 0 to 4 (%v)", before, want[:15])
	}
}

// An input batch whose records fan out past what the output can take is
// consumed up to the record that found the output full; Resume goes on
// from there.
func TestChain_consumeStopsWhenTheOutputIsFull(t *testing.T) {
	p := NewPipeline("held")
	Discard(triple(FromSlice(p, []int{0}).Rebalance()).Rebalance())
	c, sh := openHeld(t, p, 1)
	in := &Batch[int]{Elems: []Element[int]{{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}}}
	if c.Consume(0, in) || !c.Pending() {
		t.Fatal("Consume took the whole batch while the output was full")
	}
	sh.limit = 2
	if c.Resume() {
		t.Fatal("Resume took the whole batch while the output was full again")
	}
	sh.limit = 1 << 30
	if !c.Resume() || c.Pending() {
		t.Fatal("Resume did not take the rest of the batch")
	}
	c.Flush()
	before, _, _ := sh.shippedValues()
	if want := tripled(5); !slices.Equal(before, want) {
		t.Fatalf("shipped %v, want %v", before, want)
	}
}

// An unaligned checkpoint does not wait for what a source holds of its
// poll: PrepareUnalignedSnapshot is ready, and HeldSource encodes the
// held records and the watermark between them, in order. A chain of the
// same vertex given them back (RestoreHeldSource, as a restore does)
// holds them and feeds them in on Resume: the output is what the first
// chain's would have been.
func TestChain_HeldSource_storedAndRestored(t *testing.T) {
	build := func() *Pipeline {
		p := NewPipeline("held")
		src := FromReader(p, "burst", func(tc *TaskContext) (Reader[int], error) { return &burstReader{tc: tc, n: 10, w: 4}, nil })
		Discard(triple(src).Rebalance())
		return p
	}
	c, sh := openHeld(t, build(), 0)
	if _, err := c.Source.Poll(16); err != nil {
		t.Fatal(err)
	}
	if !c.Pending() || c.PrepareSnapshot(1) || !c.PrepareUnalignedSnapshot(1) {
		t.Fatalf("holding: pending %v, aligned ready %v, unaligned ready %v; want pending, not ready, ready",
			c.Pending(), c.PrepareSnapshot(1), c.PrepareUnalignedSnapshot(1))
	}
	entries, err := c.HeldSource()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []persistence.EntryKind
	for _, e := range entries {
		kinds = append(kinds, e.Kind)
	}
	// records 2…4 (record 1 filled the output), the watermark, records 5…9
	if want := []persistence.EntryKind{persistence.EntryBatch, persistence.EntryWatermark, persistence.EntryBatch}; !slices.Equal(kinds, want) {
		t.Fatalf("held entries %v, want %v", kinds, want)
	}
	c.Flush()
	if went, _, _ := sh.shippedValues(); !slices.Equal(went, tripled(2)) {
		t.Fatalf("went in before the hold: %v, want the output of records 0 and 1", went)
	}

	restored, sh2 := openHeld(t, build(), 0)
	sh2.limit = 1 << 30
	if err := restored.RestoreHeldSource(entries); err != nil {
		t.Fatal(err)
	}
	if !restored.Pending() || !restored.Resume() || restored.Pending() {
		t.Fatal("the restored chain does not hold, or does not release, the held records")
	}
	restored.Flush()
	before, after, sawWM := sh2.shippedValues()
	if want := tripled(10)[6:]; !sawWM || !slices.Equal(append(before, after...), want) || !slices.Equal(after, tripled(10)[15:]) {
		t.Fatalf("restored chain shipped %v, watermark %v, then %v; want %v with the watermark before record 5's", before, sawWM, after, want)
	}
}

// A source that holds an event a test's source emitted (EmitEvent)
// cannot store it: HeldSource fails with ErrHeldEvent, and an unaligned
// checkpoint waits for the hold to go in, as an aligned one does.
func TestChain_HeldSource_eventIsNotStored(t *testing.T) {
	p := NewPipeline("held-event")
	src := FromReader(p, "burst", func(tc *TaskContext) (Reader[int], error) {
		return &burstReader{tc: tc, n: 10, w: 4, event: Barrier{ID: 7}}, nil
	})
	Discard(triple(src).Rebalance())
	c, _ := openHeld(t, p, 0)
	if _, err := c.Source.Poll(16); err != nil {
		t.Fatal(err)
	}
	if c.PrepareUnalignedSnapshot(1) {
		t.Fatal("PrepareUnalignedSnapshot is ready while the source holds an event it cannot store")
	}
	if _, err := c.HeldSource(); !errors.Is(err, ErrHeldEvent) {
		t.Fatalf("HeldSource: %v, want ErrHeldEvent", err)
	}
}
