package operators

import (
	"errors"
	"testing"
	"time"
)

// failEvenWriter fails the writes of even values.
type failEvenWriter struct{}

func (failEvenWriter) Write(v int, _ int64) error {
	if v%2 == 0 {
		return errors.New("even")
	}
	return nil
}

func TestChain_SourceRecordsAndSinkRecords_countWhatWasEmittedAndWritten(t *testing.T) {
	v, _, cfg := lifecycleChain(t, nil, &closeWriter{})
	c, err := v.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.SourceRecords(); got != 0 {
		t.Errorf("SourceRecords before a poll = %d, want 0", got)
	}
	for _, want := range []int64{2, 3} { // the reader holds 3 values
		if _, err := c.Source.Poll(2); err != nil {
			t.Fatal(err)
		}
		if got := c.SourceRecords(); got != want {
			t.Errorf("SourceRecords = %d, want %d", got, want)
		}
		if got := c.SinkRecords(); got != want {
			t.Errorf("SinkRecords = %d, want %d", got, want)
		}
	}
}

func TestChain_SinkRecords_failedWritesNotCounted(t *testing.T) {
	p := NewPipeline("t")
	ToSink(FromSlice(p, []int{1, 2, 3}), "sink", func(*TaskContext) (SinkWriter[int], error) {
		return failEvenWriter{}, nil
	})
	c, err := onlyVertex(t, p).Open(ChainConfig{BatchSize: 8, Ship: &recordingShipper{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Source.Poll(1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Source.Poll(1); err != nil {
		t.Fatal(err)
	}
	if c.Err() == nil {
		t.Fatal("the failed write did not fail the chain")
	}
	if got := c.SinkRecords(); got != 1 {
		t.Errorf("SinkRecords = %d, want 1 (the failed write is not written)", got)
	}
}

func TestChain_SourceRecords_noSourceNoSink(t *testing.T) {
	var c Chain
	if c.SourceRecords() != 0 || c.SinkRecords() != 0 {
		t.Errorf("SourceRecords, SinkRecords = %d, %d on an empty chain, want 0, 0", c.SourceRecords(), c.SinkRecords())
	}
}

func TestLatencyHistogram_Observe_bucketsByUpperBound(t *testing.T) {
	var h LatencyHistogram
	h.Observe(0)                                               // first bucket
	h.Observe(AsyncLatencyBuckets[0])                          // bounds are inclusive
	h.Observe(AsyncLatencyBuckets[0] + 1)                      // second bucket
	h.Observe(time.Minute)                                     // above every bound
	h.Observe(AsyncLatencyBuckets[len(AsyncLatencyBuckets)-1]) // last bounded bucket
	want := map[int]int64{0: 2, 1: 1, len(AsyncLatencyBuckets) - 1: 1, len(AsyncLatencyBuckets): 1}
	for i, n := range h.Counts {
		if n != want[i] {
			t.Errorf("bucket %d holds %d, want %d", i, n, want[i])
		}
	}
	if h.Count != 5 {
		t.Errorf("Count = %d, want 5", h.Count)
	}
	wantSum := 2*AsyncLatencyBuckets[0] + 1 + time.Minute + AsyncLatencyBuckets[len(AsyncLatencyBuckets)-1]
	if h.Sum != wantSum {
		t.Errorf("Sum = %v, want %v", h.Sum, wantSum)
	}
}

func TestChain_OutputWatermark_followsWhatTheChainEmits(t *testing.T) {
	p := NewPipeline("t")
	src := FromSlice(p, []int{1})
	m := Map(src.Rebalance(), func(v int) int { return v }).Name("m")
	ToSink(m, "sink", func(*TaskContext) (SinkWriter[int], error) { return &closeWriter{}, nil })
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Vertices[len(g.Vertices)-1].Open(ChainConfig{BatchSize: 8, Ship: &recordingShipper{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.OutputWatermark(); got != MinWatermark {
		t.Errorf("OutputWatermark before any watermark = %d, want MinWatermark", got)
	}
	c.ProcessWatermark(0, 42)
	if in, out := c.Watermark(), c.OutputWatermark(); in != 42 || out != 42 {
		t.Errorf("Watermark, OutputWatermark = %d, %d after watermark 42, want 42, 42", in, out)
	}
}
