package operators

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-dev/troupe/operators/async"
)

// The knobs a runtime sets from its memory budget: batch bytes, the
// bbolt cache and the async capacity ceiling.

func TestRecordsPerBatch(t *testing.T) {
	type big [4096]byte
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"no byte cap", recordsPerBatch[int64](1024, 0), 1024},
		{"the byte cap binds", recordsPerBatch[int64](1024, 64), 4}, // Element[int64] is 16 bytes
		{"the record cap binds", recordsPerBatch[int64](8, 1<<20), 8},
		{"at least one record", recordsPerBatch[big](1024, 1024), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d records per batch, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// A chain's output batches hold at most BatchBytes of records.
func TestChain_batchBytesCapsOutputBatches(t *testing.T) {
	p := NewPipeline("bytes")
	Discard(FromSlice(p, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}).Rebalance())
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	var sh recordingShipper
	c, err := g.Vertices[0].Open(ChainConfig{Job: "bytes", BatchSize: 100, BatchBytes: 64, Ship: &sh, Wake: func() {}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Source.Poll(100); err != nil {
		t.Fatal(err)
	}
	c.Flush()
	var sizes []int
	for _, b := range sh.batches {
		sizes = append(sizes, len(b.(*Batch[int64]).Elems))
	}
	if len(sizes) != 3 || sizes[0] != 4 || sizes[1] != 4 || sizes[2] != 2 {
		t.Fatalf("batches of %v records, want 4, 4, 2 (64 bytes of 16-byte elements)", sizes)
	}
}

func TestCapacityWithin(t *testing.T) {
	for _, tc := range []struct {
		name              string
		ceiling, capacity int
		set               bool
		want              int
		err               bool
	}{
		{"no ceiling", 0, 500, true, 500, false},
		{"under the ceiling", 200, 100, false, 100, false},
		{"a default lowered", 50, 100, false, 50, false},
		{"a set capacity above", 50, 100, true, 0, true},
	} {
		got, err := capacityWithin(&TaskContext{MaxAsyncCapacity: tc.ceiling}, tc.capacity, tc.set)
		if got != tc.want || (err != nil) != tc.err || (err != nil && !errors.Is(err, async.ErrConfig)) {
			t.Errorf("%s: capacity %d, err %v; want %d, error %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// A vertex lists its async operators with their capacities, and whether
// the pipeline set them.
func TestVertex_AsyncOperators(t *testing.T) {
	p := NewPipeline("async")
	fn := func(context.Context, int) ([]int, error) { return nil, nil }
	a := AsyncMap(FromSlice(p, []int{1}), fn, AsyncConfig[int, int]{}).Name("default")
	b := AsyncMap(a, fn, AsyncConfig[int, int]{Capacity: 7}).Name("set")
	Discard(b)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	got := g.Vertices[0].AsyncOperators()
	want := []AsyncOperator{{"default", async.DefaultCapacity, false}, {"set", 7, true}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("AsyncOperators = %+v, want %+v", got, want)
	}
}

// The bbolt cache a runtime derives reaches the keyed backend's config.
func TestKeyedConfig_cacheEntries(t *testing.T) {
	tc := &TaskContext{TaskInfo: TaskInfo{Parallelism: 1, MaxParallelism: 128}, StateCacheEntries: 123}
	if got := keyedConfig[int](tc).CacheEntries; got != 123 {
		t.Fatalf("CacheEntries = %d, want TaskContext.StateCacheEntries, 123", got)
	}
}
