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
