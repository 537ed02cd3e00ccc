package testkit

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

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
	return operators.External(s, "join", func(_ *operators.TaskContext, out operators.Collector[string]) (operators.Collector[int], any, error) {
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

// The latency histogram counts each record from its arrival to its
// emission, on the operator's clock.
func TestHarness_asyncStats_latency(t *testing.T) {
	h := NewHarness(t, func(s operators.Stream[int]) operators.Stream[int] {
		return operators.AsyncMap(s, func(_ context.Context, v int) ([]int, error) { return []int{v}, nil },
			operators.DefaultAsyncConfig[int, int]()).Name("call")
	})
	h.ProcessElements(1)
	h.AdvanceProcessingTime(3 * time.Millisecond)
	h.ProcessElements(2)
	h.AdvanceProcessingTime(time.Millisecond)
	h.CompleteRequest(0, 1) // after 4 ms
	h.CompleteRequest(0, 2) // after 1 ms
	lat := h.chain.AsyncStats()["call"].Latency
	if lat.Count != 2 || lat.Sum != 5*time.Millisecond {
		t.Fatalf("latency count %d, sum %v; want 2 and 5ms", lat.Count, lat.Sum)
	}
	// 1 ms is in the bucket whose bound is 1 ms; 4 ms in the 5 ms one.
	for i, want := range map[int]int64{3: 1, 5: 1} {
		if lat.Counts[i] != want {
			t.Errorf("bucket %d (≤ %v) holds %d, want %d; all %v", i, operators.AsyncLatencyBuckets[i], lat.Counts[i], want, lat.Counts)
		}
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
		reply, err := c.call.(operators.AsyncCallResults[int]).Complete([][]int{{i + 1}})
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
