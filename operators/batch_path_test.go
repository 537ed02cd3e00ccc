package operators

import (
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/watermark"
)

func TestPointerFree(t *testing.T) {
	type flat struct {
		A int64
		B [3]float64
		C struct{ D bool }
	}
	type withString struct {
		A int64
		S string
	}
	type withPointerDeep struct {
		A [2]struct{ P *int }
	}
	for _, c := range []struct {
		t    reflect.Type
		want bool
	}{
		{reflect.TypeFor[int](), true},
		{reflect.TypeFor[flat](), true},
		{reflect.TypeFor[[0]*int](), true},
		{reflect.TypeFor[struct{}](), true},
		{reflect.TypeFor[string](), false},
		{reflect.TypeFor[[]int](), false},
		{reflect.TypeFor[*int](), false},
		{reflect.TypeFor[any](), false},
		{reflect.TypeFor[map[int]int](), false},
		{reflect.TypeFor[func()](), false},
		{reflect.TypeFor[chan int](), false},
		{reflect.TypeFor[withString](), false},
		{reflect.TypeFor[withPointerDeep](), false},
	} {
		if got := pointerFree(c.t); got != c.want {
			t.Errorf("pointerFree(%v) = %v, want %v", c.t, got, c.want)
		}
	}
}

// headTakesRuns opens subtask 0 of vertex v and reports whether its head
// operator takes runs of T.
func headTakesRuns[T any](t *testing.T, p *Pipeline, v int) bool {
	t.Helper()
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Vertices[v].Open(ChainConfig{Job: "runs", BatchSize: 8, Ship: &recordingShipper{}, Wake: func() {}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return runsOf(c.hooks[0].(Collector[T])) != nil
}

// The batch path is the whole chain or none of it: one operator that may
// emit more than one record per record, or records that hold pointers,
// and the chain goes record by record.
func TestBatchPath_wholeChainOrNone(t *testing.T) {
	ints := func(p *Pipeline) Stream[int] { return FromSlice(p, []int{1, 2, 3}).Rebalance() }
	bounded := WatermarkStrategy[int]{Strategy: watermark.ForBoundedOutOfOrderness(0), Timestamp: func(v int, _ int64) int64 { return int64(v) }}
	punctuated := WatermarkStrategy[int]{Strategy: watermark.ForPunctuated(func(ts int64) (int64, bool) { return ts, true }),
		Timestamp: bounded.Timestamp}
	for _, c := range []struct {
		name  string
		build func(p *Pipeline)
		want  bool
	}{
		{"map, filter, reduce, sink", func(p *Pipeline) {
			s := Filter(Map(ints(p), func(v int) int { return v + 1 }), func(v int) bool { return v > 1 })
			Discard(Reduce(KeyBy(s, func(v int) int { return v % 2 }), func(a, v int) int { return a + v }))
		}, true},
		{"map to a forward channel", func(p *Pipeline) {
			Discard(Map(Map(ints(p), func(v int) int { return v }).StartNewChain(), func(v int) int { return v }))
		}, true},
		{"bounded timestamps", func(p *Pipeline) { Discard(AssignTimestamps(ints(p), bounded)) }, true},
		{"punctuated timestamps", func(p *Pipeline) { Discard(AssignTimestamps(ints(p), punctuated)) }, false},
		{"flatMap after map", func(p *Pipeline) {
			Discard(FlatMap(Map(ints(p), func(v int) int { return v }), func(v int, emit func(int)) { emit(v) }))
		}, false},
		{"map to a rebalanced channel", func(p *Pipeline) {
			Discard(Map(Map(ints(p), func(v int) int { return v }).Rebalance(), func(v int) int { return v }).Parallelism(2))
		}, false},
		{"map of strings", func(p *Pipeline) {
			Discard(Map(Map(ints(p), func(v int) string { return "x" }), func(v string) int { return len(v) }))
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewPipeline("runs")
			c.build(p)
			if got := headTakesRuns[int](t, p, 1); got != c.want {
				t.Fatalf("the chain's head takes runs: %v, want %v", got, c.want)
			}
		})
	}
}

// On the batch path a chain stops between two runs: an input batch is
// held from the first record of a run that no operator has seen, and a
// run is no longer than a batch, so the chain ships no more batches
// after its output fills up than on the per-record path.
func TestBatchPath_consumeStopsBetweenRuns(t *testing.T) {
	p := NewPipeline("held")
	seen := 0
	Discard(Map(FromSlice(p, []int{0}).Rebalance(), func(v int) int { seen++; return 10 * v }).Rebalance())
	c, sh := openHeld(t, p, 1)
	if !headTakesRuns[int](t, p, 1) {
		t.Fatal("the chain does not take runs")
	}
	in := &Batch[int]{}
	for i := range 20 {
		in.Elems = append(in.Elems, Element[int]{Value: i, Timestamp: int64(i)})
	}
	for _, step := range []struct{ limit, next int }{{1, 4}, {3, 12}} {
		sh.limit = step.limit
		var done bool
		if step.limit == 1 {
			done = c.Consume(0, in)
		} else {
			done = c.Resume()
		}
		_, _, next, ok := c.HeldInput()
		if done || !ok || next != step.next || seen != step.next || len(sh.batches) != step.limit {
			t.Fatalf("output full after %d batches: done %v, held from %d (want %d), map saw %d records, %d batches shipped",
				step.limit, done, next, step.next, seen, len(sh.batches))
		}
	}
	sh.limit = 1 << 30
	if !c.Resume() || c.Pending() {
		t.Fatal("Resume did not take the rest of the batch")
	}
	c.Flush()
	var want []int
	for i := range 20 {
		want = append(want, 10*i)
	}
	if got, _, _ := sh.shippedValues(); !slices.Equal(got, want) {
		t.Fatalf("shipped %v, want %v", got, want)
	}
}

// A generator on the batch path emits its poll in runs; once the output
// waits for credit the rest of the poll is held, and the records it
// ships meanwhile fill at most one batch per channel.
func TestBatchPath_sourceHoldsTheRunsAfterTheOutputFills(t *testing.T) {
	p := NewPipeline("held")
	mapped := 0
	src := Generate(p, 100, func(i int64) int { return int(i) }).Parallelism(1)
	keyed := KeyBy(Map(src, func(v int) int { mapped++; return v }), func(v int) int { return v })
	Discard(Reduce(keyed, func(a, v int) int { return a + v }).Parallelism(2))
	c, sh := openHeld(t, p, 0)
	if _, err := c.Source.Poll(100); err != nil {
		t.Fatal(err)
	}
	if !c.Pending() || len(sh.batches) == 0 || len(sh.batches) > 2 || mapped%4 != 0 || mapped > 4*len(sh.batches)+4 {
		t.Fatalf("after the poll: pending %v, %d batches shipped over 2 channels, map saw %d records (runs of 4)",
			c.Pending(), len(sh.batches), mapped)
	}
	sh.limit = 1 << 30
	if !c.Resume() || c.Pending() || mapped != 100 {
		t.Fatalf("after Resume with room: pending %v, map saw %d records", c.Pending(), mapped)
	}
	c.Flush()
	got, _, _ := sh.shippedValues()
	slices.Sort(got)
	want := make([]int, 100)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(got, want) {
		t.Fatalf("shipped %v, want 0 … 99 once each", got)
	}
}

// A generator whose count is near math.MaxInt64 (a common stand-in for
// "practically unbounded") emits on the batch path as it does record by
// record: the records it has left are counted without overflowing.
// Before the fix, left() computed count-next+step-1, which overflows for
// subtask 0 of a parallelism-2 generator of math.MaxInt64 records: it
// found none left, emitted nothing, and reported more to come, for ever.
func TestBatchPath_generatorOfMaxInt64Records(t *testing.T) {
	const par, poll = 2, 40
	for sub := range par {
		p := NewPipeline("gen-max").SetParallelism(par)
		var got []int64
		ToSink(Map(Generate(p, math.MaxInt64, func(i int64) int64 { return i }), func(v int64) int64 { return v }), "sink",
			func(*TaskContext) (SinkWriter[int64], error) {
				return sinkFunc[int64](func(v int64) { got = append(got, v) }), nil
			})
		g, err := p.Build()
		if err != nil {
			t.Fatal(err)
		}
		c, err := g.Vertices[0].Open(ChainConfig{Job: "gen-max", Subtask: sub, BatchSize: 8, Ship: &recordingShipper{}, Wake: func() {}})
		if err != nil {
			t.Fatal(err)
		}
		if runsOf(c.Source.(*sourceRunner[int64]).out) == nil {
			t.Fatal("the generator's chain does not take runs")
		}
		res, err := c.Source.Poll(poll)
		_ = c.Close()
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for i := range int64(poll) {
			want = append(want, int64(sub)+i*par)
		}
		if res.Status != PollMore || !slices.Equal(got, want) {
			t.Errorf("subtask %d: poll of %d reported %v and emitted %v, want %v", sub, poll, res.Status, got, want)
		}
	}
}
