package operators

import (
	"context"
	"testing"
	"time"
)

// clock is the processing time of the operators newHeldOp makes.
var clock = time.Unix(1000, 0)

// heldHost runs an async operator's sequencer inline, like the test
// harness, but keeps its releases from the operator until the test lets
// them go: the state of a subtask whose sequencer child actor has released
// results that are still on their way to it.
type heldHost struct {
	seq      AsyncSequencer
	calls    []AsyncCall
	releases []any
	held     bool
}

func (h *heldHost) NewAsyncInvoker(cfg AsyncInvokerConfig) (AsyncInvoker, error) {
	h.seq = cfg.Sequencer
	return h, nil
}

func (h *heldHost) Invoke(call AsyncCall) { h.calls = append(h.calls, call) }

func (h *heldHost) Sequence(msg any) { h.receive(msg) }

func (h *heldHost) receive(msg any) {
	if rel := h.seq.Receive(msg); rel != nil {
		h.releases = append(h.releases, rel)
	}
}

func (h *heldHost) Releases(bool) []any {
	if h.held {
		return nil
	}
	r := h.releases
	h.releases = nil
	return r
}

func (h *heldHost) Close() {}

// complete answers call i with v's double, as an invoker would.
func (h *heldHost) complete(t *testing.T, i int) {
	t.Helper()
	call := h.calls[i].(*asyncCall[int, int])
	reply, err := call.Complete([][]int{{2 * call.Inputs()[0]}})
	if err != nil {
		t.Fatal(err)
	}
	h.receive(reply)
}

type sliceOut struct{ vals []int }

func (s *sliceOut) Collect(v int, _ int64) { s.vals = append(s.vals, v) }

func newHeldOp(t *testing.T, cfg AsyncConfig[int, int]) (*asyncOp[int, int], *heldHost, *sliceOut) {
	t.Helper()
	var failure error
	tc := NewTaskContext(TaskInfo{Operator: "async"}, nil, nil, &failure)
	host := &heldHost{}
	tc.Host = host
	tc.Now = func() time.Time { return clock }
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	out := &sliceOut{}
	fn := func(_ context.Context, in []int) ([][]int, error) { return nil, nil }
	op, err := newAsyncOp(tc, Collector[int](out), fn, cfg, Codec[int](JSONCodec[int]{}), 1)
	if err != nil {
		t.Fatal(err)
	}
	return op, host, out
}

func pendingCount(t *testing.T, op *asyncOp[int, int]) int {
	t.Helper()
	st, err := op.SnapshotState(1)
	if err != nil {
		t.Fatal(err)
	}
	return len(st.Operator.Lists[asyncPendingList])
}

// Results the sequencer released but the core has not emitted yet are
// still pending in a snapshot: emitted after the barrier, they belong to
// the next epoch, and a restore invokes their records again.
func TestAsyncSnapshot_releasedNotEmittedIsPending(t *testing.T) {
	op, host, out := newHeldOp(t, AsyncConfig[int, int]{Capacity: 4})
	for v := 1; v <= 3; v++ {
		op.Collect(v, int64(v))
	}
	op.BatchEnd()
	host.held = true
	host.complete(t, 0)
	host.complete(t, 1) // the sequencer releases 2 and 4; the core has not seen them
	st, err := op.SnapshotState(1)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Operator.Lists[asyncPendingList]); n != 3 || len(out.vals) != 0 {
		t.Fatalf("snapshot of %d pending records, %d emitted; want 3 and 0", n, len(out.vals))
	}
	host.held = false
	op.HandleMessage(AsyncReady{Invoker: host}) // after the barrier: the next epoch
	if n := pendingCount(t, op); n != 1 || len(out.vals) != 2 || op.Stats().Completed != 2 {
		t.Fatalf("%d pending, %v emitted, %+v; want 1, [2 4] and 2 completed", n, out.vals, op.Stats())
	}
	restored, host2, _ := newHeldOp(t, AsyncConfig[int, int]{Capacity: 4})
	if err := restored.RestoreState([]*OperatorState{st}); err != nil {
		t.Fatal(err)
	}
	if len(host2.calls) != 3 {
		t.Fatalf("%d calls after restore, want the 3 pending records invoked again", len(host2.calls))
	}
}

// A record the sequencer completed just before its deadline, whose release
// has not reached the core when the deadline fires, is not timed out: the
// core's expiry finds it completed in the sequencer and is ignored.
func TestAsyncSeq_expiryCrossingCompletion(t *testing.T) {
	op, host, out := newHeldOp(t, AsyncConfig[int, int]{Timeout: time.Second})
	op.Collect(1, 1)
	op.Collect(2, 2)
	op.BatchEnd()
	host.held = true
	host.complete(t, 0) // completed and released; the release is on its way
	op.OnProcessingTime(clock.Add(time.Second))
	host.held = false
	op.HandleMessage(AsyncReady{Invoker: host})
	if err := *op.tc.err; err == nil || len(out.vals) != 1 || out.vals[0] != 2 {
		t.Fatalf("failure %v, emitted %v; want record 2 timed out, record 1 emitted", err, out.vals)
	}
	if st := op.Stats(); st.Timeouts != 1 || st.Completed != 1 {
		t.Fatalf("stats %+v, want 1 timeout and 1 completed", st)
	}
	host.complete(t, 1) // the timed-out call returns after all
	op.HandleMessage(AsyncReady{Invoker: host})
	if st := op.Stats(); st.Late != 1 {
		t.Fatalf("stats %+v, want the late reply counted", st)
	}
}

// A call is typed by its operator: a deterministic runtime reads its
// records as In and answers with results of Out, one slice per record;
// another type or another number of slices is refused, never boxed.
func TestAsyncCall_typedInputsAndResults(t *testing.T) {
	op, host, out := newHeldOp(t, AsyncConfig[int, int]{})
	op.Collect(21, 1)
	op.BatchEnd()
	call := host.calls[0]
	if _, ok := call.(AsyncCallResults[string]); ok {
		t.Fatal("a call of an operator with int results takes string results")
	}
	ins := call.(AsyncCallInputs[int]).Inputs()
	if len(ins) != 1 || ins[0] != 21 {
		t.Fatalf("Inputs = %v, want [21]", ins)
	}
	if _, err := call.(AsyncCallResults[int]).Complete([][]int{{1}, {2}}); err == nil {
		t.Fatal("two result slices for a call of one record: no error")
	}
	reply, err := call.(AsyncCallResults[int]).Complete([][]int{{42, 43}})
	if err != nil {
		t.Fatal(err)
	}
	host.receive(reply)
	op.HandleMessage(AsyncReady{Invoker: host})
	if len(out.vals) != 2 || out.vals[0] != 42 || out.vals[1] != 43 {
		t.Fatalf("emitted %v, want [42 43]", out.vals)
	}
}
