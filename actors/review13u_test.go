package actors

import (
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// Review 13u: adversarial review of unaligned checkpoints. Each test
// fails on the defect it names.

// mapGraph is source → map → sink, three vertices of parallelism 1; it
// returns the map's vertex (one input, one output channel).
func mapGraph(t *testing.T) *operators.Vertex {
	t.Helper()
	p := operators.NewPipeline("review13u")
	src := operators.FromSlice(p, []int64{0}).Name("source").Parallelism(1)
	m := operators.Map(src.Rebalance(), func(v int64) int64 { return v }).Name("map").Parallelism(1)
	operators.Discard(m.Rebalance()).Name("sink").Parallelism(1)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range g.Vertices {
		if v.Name == "map" {
			return v
		}
	}
	t.Fatal("no map vertex")
	return nil
}

// Finding: a subtask restored from an unaligned checkpoint sends its
// output channel state when it gets startMsg, "ahead of anything it
// produces" — but a non-source subtask consumes input as soon as any
// arrives, started or not. Its agent starts the subtasks one by one, in
// spawn order (sources first), and the agents of other nodes start
// theirs when the master's start reaches them: an upstream subtask that
// started first sends its own restored output, or its source's first
// records, and they can reach this subtask before its startMsg. It then
// consumes them and sends their results first; its restored output —
// records it emitted before the checkpoint — goes after them. The
// channel's FIFO order, and with it the order per key downstream, is
// broken (a running count per key then counts them in another order).
func TestReview13u_restoredOutputOvertakenBeforeStart(t *testing.T) {
	v := mapGraph(t)
	cfg := DefaultConfig()
	cfg.BatchSize = 2
	cs := &persistence.ChannelState{Inputs: [][]persistence.ChannelEntry{nil},
		Outputs: [][]persistence.ChannelEntry{{encodedEntry[int64](t, v.Outputs[0], 1, 2)}}}
	p := newDriven(t, v, cfg, nil, channelRestore(t, v, cs))

	p.deliver(batch[int64](0, 3, 4)) // the upstream subtask started first
	p.deliver(&startMsg{})
	if err := p.failure(); err != nil {
		t.Fatal(err)
	}
	if got, want := output[int64](p, 0), []int64{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("output channel carries %v, want %v: the restored output channel state (1 2) must go first", got, want)
	}
}

// unionGraph is a source of parallelism 2 → map → sink: the map's
// subtask has two input channels and one output channel.
func unionGraph(t *testing.T) *operators.Vertex {
	t.Helper()
	p := operators.NewPipeline("review13u-2")
	src := operators.FromSlice(p, []int64{0}).Name("source").Parallelism(2)
	m := operators.Map(src.Rebalance(), func(v int64) int64 { return v }).Name("map").Parallelism(1)
	operators.Discard(m.Rebalance()).Name("sink").Parallelism(1)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	return g.Vertices[1]
}

// Finding: an unaligned checkpoint records, on each input whose barrier
// has not come, what is queued and what arrives "until its barrier
// does (or it ends)" — and an input ends only when the subtask consumes
// its end of input. A sender that has finished sends no barrier (it
// takes checkpoints as a finished task), so on its channel the
// checkpoint waits until the subtask has consumed the whole backlog
// queued ahead of the end of input, although nothing more can come on
// it and all of it is already recorded: under backpressure the
// unaligned checkpoint takes as long as an aligned one — here, for ever,
// since the sink grants no credit. The end of input, once queued,
// completes the channel's recording.
func TestReview13u_unalignedWaitsForFinishedInputsBacklog(t *testing.T) {
	v := unionGraph(t)
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.Credits = 2, 4
	store := newMemWrites()
	p := newDriven(t, v, cfg, store, nil)
	p.deliver(&startMsg{})
	for i := range int64(cfg.Credits + 1) { // the sink's credits run out: backpressure
		p.deliver(batch[int64](1, 100+2*i, 101+2*i))
	}
	// The first source has finished: its last batches and its end of
	// input wait in the queue.
	for i := range int64(3) {
		p.deliver(batch[int64](0, 2*i, 2*i+1))
	}
	p.deliver(&batchMsg{ch: 0, eoi: true})
	p.deliver(&batchMsg{ch: 1, ev: operators.Barrier{ID: 1, Unaligned: true}})
	if err := p.failure(); err != nil {
		t.Fatal(err)
	}
	if p.s.rec != nil {
		t.Fatalf("checkpoint 1 still records input channel 0 (recording %d), whose sender has finished and "+
			"whose end of input is queued: it waits for the backlog to be consumed", p.s.aligner.Recording(0))
	}
	a := p.ack()
	if a.err != nil || a.id != 1 {
		t.Fatalf("ack %+v", a)
	}
	cs := store.channels(t, a.channels)
	if got, want := decoded[int64](t, v.Inputs[0], cs.Inputs[0]), []int64{0, 1, 2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Fatalf("input channel 0's state %v, want %v", got, want)
	}
}
