package operators

import (
	"context"
	"testing"
)

// An async operator whose results come back as its end of input is
// called, with the output filling up after the first: the rest wait in
// the operator for credit (outputHolder). The chain must not report
// itself ended and unblocked meanwhile: the runtime then finishes the
// subtask — sends the end of input downstream, takes a checkpoint as
// that of a finished subtask — and the held results would be emitted
// after the end of input (lost; the subtask drains forever, as
// TestCheckpoint_heldFiringsAndResults_exactlyOnce/async/unaligned did
// once in 15 runs, the source's subtask stuck in draining), or missing
// from the restore of that checkpoint, which restores the subtask as
// finished.
func TestChain_asyncResultsHeldAtEndOfInput_chainNotEnded(t *testing.T) {
	p := NewPipeline("end")
	src := FromReader(p, "src", func(tc *TaskContext) (Reader[int], error) { return &burstReader{tc: tc, n: 4, w: -1}, nil })
	Discard(AsyncMap(src, func(_ context.Context, v int) ([]int, error) { return []int{v}, nil }, AsyncConfig[int, int]{Capacity: 8}).Name("async").Rebalance())
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	host := &heldHost{}
	sh := &valueShipper{limit: 1 << 30}
	c, err := g.Vertices[0].Open(ChainConfig{Job: "end", BatchSize: 1, Ship: sh, Wake: func() {}, OutputFull: sh.full, Host: host})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Source.Poll(16); err != nil {
		t.Fatal(err)
	}
	c.BatchEnd()
	for i := range host.calls {
		host.complete(t, i) // the results wait in the invoker
	}
	sh.limit = 1 // full after the first result
	if err := c.EndInput(); err != nil {
		t.Fatal(err)
	}
	if !c.Pending() {
		t.Fatalf("shipped %v: no result held with the output full", sh.got)
	}
	if c.Ended() && !c.Blocked() {
		t.Fatalf("shipped %v, results held (Pending): the chain reports itself ended and not blocked, so the runtime finishes the subtask before they are out", sh.got)
	}
	sh.limit = 1 << 30
	for i := 0; c.Pending(); i++ {
		if c.Resume() {
			break
		}
		if i > 10 {
			t.Fatalf("still holding with room in the output; shipped %v", sh.got)
		}
	}
	if err := c.EndInput(); err != nil {
		t.Fatal(err)
	}
	c.Flush()
	if !c.Ended() || c.Blocked() {
		t.Fatalf("shipped %v: not ended once every result is out (ended %v, blocked %v)", sh.got, c.Ended(), c.Blocked())
	}
	if got := len(sh.got); got < 4 {
		t.Fatalf("shipped %v, want the 4 results", sh.got)
	}
}
