package actors

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// slowSink does real work per record, so that it is the bottleneck, and
// checks on every record that the source is never further ahead than the
// records the channels and buffers can hold.
type slowSink struct {
	produced, consumed *atomic.Int64
	limit              int64
	maxGap             *atomic.Int64
	sink               uint64
}

func (s *slowSink) Write(v int, _ int64) error {
	for i := range 3000 { // about 3 µs of work per record
		s.sink = s.sink*31 + uint64(i^v)
	}
	gap := s.produced.Load() - s.consumed.Add(1)
	if gap > s.maxGap.Load() {
		s.maxGap.Store(gap)
	}
	if gap > s.limit {
		return fmt.Errorf("source ran %d records ahead of the sink (limit %d): no backpressure", gap, s.limit)
	}
	return nil
}

func TestBackpressure_slowSinkBoundsMailboxesAndSource(t *testing.T) {
	const batch, credits, n = 64, 2, 60000
	e := newTestEngine(t, func(c *Config) { c.BatchSize, c.Credits = batch, credits })
	var produced, consumed, maxGap atomic.Int64
	p := operators.NewPipeline("backpressure")
	src := operators.Generate(p, n, func(i int64) int { produced.Add(1); return int(i) })
	m := operators.Map(src.Rebalance(), func(v int) int { return v }).Parallelism(2)
	// Records that can be between the source's generator and the sink:
	// per channel the credit window, per subtask one batch being built per
	// output channel plus one input batch's output waiting for credit.
	// Source: 2 outputs; map: 1 input + 1 output each (x2); sink: 2 inputs.
	limit := int64(batch * (credits*(2+2) + 2*2 + 2*2 + 2))
	sink := &slowSink{produced: &produced, consumed: &consumed, limit: limit, maxGap: &maxGap}
	var collected []int
	operators.ToSink(m.Rebalance(), "slow", func(*operators.TaskContext) (operators.SinkWriter[int], error) {
		return &orderChecker{next: sink, got: &collected}, nil
	})
	job := submit(t, e, p)
	if err := waitJob(t, job); err != nil {
		t.Fatal(err)
	}
	if len(collected) != n {
		t.Fatalf("sink got %d records, want %d", len(collected), n)
	}
	// Map subtask j gets the values ≡ j (mod 2) in order; per channel order
	// must survive to the sink.
	last := [2]int{-1, -1}
	for _, v := range collected {
		if v <= last[v%2] {
			t.Fatalf("order broken on channel %d: %d after %d", v%2, v, last[v%2])
		}
		last[v%2] = v
	}
	for _, mb := range job.Mailboxes() {
		st := mb.Stats()
		if st.HighWater > int64(mb.Bound) || mb.Bound > mb.Capacity {
			t.Errorf("mailbox %s: high water %d, bound %d, capacity %d", mb.Subtask, st.HighWater, mb.Bound, mb.Capacity)
		}
		if st.Posted == 0 {
			t.Errorf("mailbox %s: no statistics recorded", mb.Subtask)
		}
	}
	t.Logf("source was at most %d records ahead of the sink (limit %d of %d records)", maxGap.Load(), limit, n)
}

type orderChecker struct {
	next *slowSink
	got  *[]int
}

func (o *orderChecker) Write(v int, ts int64) error {
	*o.got = append(*o.got, v)
	return o.next.Write(v, ts)
}
