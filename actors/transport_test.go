package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/mailbox"
	"github.com/troupe-dev/troupe/operators"
)

// remoteReceiver is a subtask wired with one remote input channel (from
// the source of a two-vertex graph), as far as receiving goes: its chain
// is not opened, so nothing consumes what the input gate holds.
func remoteReceiver(t *testing.T) (*subtask, *operators.VertexEdge) {
	t.Helper()
	p := operators.NewPipeline("remote-receiver")
	src := operators.FromSlice(p, []string{"a"}).Name("source").Parallelism(1)
	operators.Discard(src.Rebalance()).Name("sink").Parallelism(1)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	edge := g.Vertices[1].Inputs[0]
	s := &subtask{run: "run-1", attempt: 2, vertex: g.Vertices[1],
		inputs: []endpoint{{pid: actor.NewPID("10.0.0.1:1", "peer"), edge: edge, remote: true}},
		in:     mailbox.NewInputGate[*batchMsg](1, 4), frags: make([][]byte, 1)}
	return s, edge
}

func encoded(t *testing.T, edge *operators.VertexEdge, values ...string) []byte {
	t.Helper()
	b := &operators.Batch[string]{}
	for _, v := range values {
		b.Elems = append(b.Elems, operators.Element[string]{Value: v, Timestamp: operators.NoTimestamp})
	}
	data, err := edge.EncodeBatch(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A remote batch of another run or attempt is dropped; the fragments of
// one logical batch are reassembled into one batch (one credit's worth
// in the input gate) holding every record; an event arrives as the same
// event.
func TestSubtask_remoteBatch_fencingAndFragments(t *testing.T) {
	s, edge := remoteReceiver(t)
	data := encoded(t, edge, "x", "y", "z")
	s.onRemoteBatch(&wire.Batch{Run: "run-0", Attempt: 2, Payload: data})
	s.onRemoteBatch(&wire.Batch{Run: "run-1", Attempt: 1, Payload: data})
	if q := s.in.Queued(); q != 0 {
		t.Fatalf("%d batches queued from another run or attempt, want 0", q)
	}
	cut := len(data) / 3
	s.onRemoteBatch(&wire.Batch{Run: "run-1", Attempt: 2, Payload: data[:cut], More: true, Size: int32(len(data))})
	s.onRemoteBatch(&wire.Batch{Run: "run-1", Attempt: 2, Payload: data[cut : 2*cut], More: true})
	if q := s.in.Queued(); q != 0 {
		t.Fatalf("%d batches queued before the last fragment, want 0", q)
	}
	s.onRemoteBatch(&wire.Batch{Run: "run-1", Attempt: 2, Payload: data[2*cut:]})
	s.onRemoteBatch(&wire.Batch{Run: "run-1", Attempt: 2, Event: wire.EventKind_EVENT_BARRIER, Barrier: 7, Savepoint: true, Eoi: true})
	_, m, ok := s.in.Next()
	if !ok || s.in.Queued() != 1 {
		t.Fatalf("input gate holds %d messages, want the batch and the event", s.in.Queued()+1)
	}
	if got := m.data.(*operators.Batch[string]).Elems; len(got) != 3 || got[0].Value != "x" || got[2].Value != "z" {
		t.Fatalf("reassembled batch %v, want x y z", got)
	}
	if _, m, _ = s.in.Next(); m.ev != (operators.Barrier{ID: 7, Savepoint: true}) || !m.eoi {
		t.Fatalf("event message %+v, want savepoint barrier 7 with end of input", m)
	}
}

// Credits of another run or attempt are dropped.
func TestSubtask_remoteCredit_fencing(t *testing.T) {
	s := &subtask{run: "run-1", attempt: 2, outputs: []endpoint{{remote: true}},
		out: mailbox.NewOutputGate[*batchMsg](1, 4)}
	s.onRemoteCredit(&wire.Credit{Run: "run-1", Attempt: 3, Ch: 0, N: 1})
	s.onRemoteCredit(&wire.Credit{Run: "run-x", Attempt: 2, Ch: 0, N: 1})
	if c := s.out.Credits(0); c != 4 {
		t.Fatalf("credits %d after stale grants, want the window's 4", c)
	}
}
