package operators

import (
	"errors"
	"slices"
	"testing"
)

// opaque is a record type JSON cannot round-trip: its one field is
// unexported, so JSON writes {} and reads the zero value, without an
// error.
type opaque struct{ v int }

// opaqueReader emits opaque{0} … opaque{n-1} in one poll, then ends.
type opaqueReader struct {
	n    int
	done bool
}

func (r *opaqueReader) Poll(out Collector[opaque], _ int) (Poll, error) {
	if r.done {
		return Poll{Status: PollDone}, nil
	}
	for i := range r.n {
		out.Collect(opaque{v: i}, int64(i))
	}
	r.done = true
	return Poll{Status: PollDone}, nil
}

func (r *opaqueReader) Close() error { return nil }

// A source whose records JSON, their stream's codec, cannot round-trip
// (the stream is chained, so nothing asked it for a codec) must not have
// what it holds of its poll stored as in-flight data: a restore would
// feed in zero values in their place. An unaligned checkpoint waits for
// such a hold to go in, as an aligned one does; whatever it stores, a
// restored chain's output is the original one.
func TestChain_HeldSource_lossyTypeIsNotStored(t *testing.T) {
	build := func() *Pipeline {
		p := NewPipeline("held-lossy")
		src := FromReader(p, "opaque", func(*TaskContext) (Reader[opaque], error) { return &opaqueReader{n: 10}, nil })
		Discard(triple(Map(src, func(o opaque) int { return o.v })).Rebalance())
		return p
	}
	c, _ := openHeld(t, build(), 0)
	if _, err := c.Source.Poll(16); err != nil {
		t.Fatal(err)
	}
	if !c.Pending() {
		t.Fatal("the source holds nothing of its poll: the test does not exercise a hold")
	}
	entries, err := c.HeldSource()
	if ready := c.PrepareUnalignedSnapshot(1); !ready {
		if !errors.Is(err, ErrLossyJSON) {
			t.Fatalf("HeldSource: %v, want ErrLossyJSON", err)
		}
		return // it waits for the hold to go in, as it must: nothing is stored
	}
	if err != nil {
		t.Fatalf("PrepareUnalignedSnapshot is ready, and HeldSource fails (the subtask would fail): %v", err)
	}
	restored, sh := openHeld(t, build(), 0)
	sh.limit = 1 << 30
	if err := restored.RestoreHeldSource(entries); err != nil {
		t.Fatal(err)
	}
	if !restored.Resume() {
		t.Fatal("the restored chain did not release what it holds")
	}
	restored.Flush()
	got, _, _ := sh.shippedValues()
	if want := tripled(10)[6:]; !slices.Equal(got, want) {
		t.Fatalf("an unaligned checkpoint stored the held records of a type JSON loses: the restore fed in %v, want %v", got, want)
	}
}
