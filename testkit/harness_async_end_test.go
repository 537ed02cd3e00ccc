package testkit

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// An operator chained after an async one is ended only once the async
// operator's results are all out (it sees them before its own end).
func TestHarness_EndInput_waitsForAsyncResultsBeforeEndingTheNextOperator(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[string] {
		doubled := operators.AsyncMap(s, func(_ context.Context, v int) ([]int, error) { return []int{2 * v}, nil },
			operators.DefaultAsyncConfig[int, int]())
		return joinAtEnd(doubled)
	})
	h.ProcessElement(1, 1)
	h.ProcessElement(2, 2)
	h.EndInput()
	if got := h.Values(); len(got) != 0 {
		t.Fatalf("output before the replies: %q", got)
	}
	CompleteAsync(h, 0, 2)
	CompleteAsync(h, 0, 4) // the first one left
	if got := showItems(h.Output()); got != "watermark(max) 2,4" {
		t.Fatalf("output %s", got)
	}
}

// joinAtEnd emits, at end of input, the values it received joined by
// commas.
func joinAtEnd(s operators.Stream[int]) operators.Stream[string] {
	return operators.External(s, "join", nil, func(_ *operators.TaskContext, out operators.Collector[string]) (operators.Collector[int], any, error) {
		j := &joiner{out: out}
		return j, j, nil
	})
}

type joiner struct {
	out  operators.Collector[string]
	vals []string
}

func (j *joiner) Collect(v int, _ int64) { j.vals = append(j.vals, strconv.Itoa(v)) }

func (j *joiner) EndInput() error {
	j.out.Collect(strings.Join(j.vals, ","), operators.NoTimestamp)
	return nil
}

// The async operator's counters are reachable through the chain, for
// metrics: records in flight, calls, completions.
func TestHarness_asyncStats(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[int] {
		return operators.AsyncMap(s, func(_ context.Context, v int) ([]int, error) { return []int{v}, nil },
			operators.DefaultAsyncConfig[int, int]()).Name("call")
	})
	h.ProcessElements(1, 2)
	st := h.chain.AsyncStats()["call"]
	if st.InFlight != 2 || st.Calls != 2 {
		t.Fatalf("stats %+v, want 2 calls and 2 in flight", st)
	}
	h.CompleteRequest(0, 1)
	h.CompleteRequest(0, 2)
	st = h.chain.AsyncStats()["call"]
	if st.InFlight != 0 || st.Completed != 2 {
		t.Fatalf("stats %+v, want 2 completed and none in flight", st)
	}
}

// CHECKLISTS async 14: results that complete while the subtask is being
// torn down (not at end of input) are not emitted; on recovery the
// records are invoked again from the checkpoint.
func TestHarness_async_resultsAfterCloseAreNotEmitted(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[int] {
		return operators.AsyncMap(s, func(_ context.Context, v int) ([]int, error) { return []int{v}, nil },
			operators.DefaultAsyncConfig[int, int]())
	})
	h.ProcessElements(1, 2)
	calls := append([]harnessCall(nil), h.host.calls...) // the calls in flight at teardown
	if err := h.chain.Close(); err != nil {
		t.Fatal(err)
	}
	for i, c := range calls {
		reply, err := c.call.Reply([]any{i + 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// as a call finishing after the stop would, bypassing the
		// invoker's own guard: the operator must drop it itself
		c.inv.closed = false
		c.inv.receive(reply)
		h.chain.HandleMessage(operators.AsyncReady{Invoker: c.inv})
	}
	if got := h.Values(); len(got) != 0 {
		t.Fatalf("emitted %v after the subtask closed", got)
	}
}
