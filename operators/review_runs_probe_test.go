package operators

import (
	"fmt"
	"slices"
	"testing"
)

// Review of cb526f9 (the generator, map and filter write a run by index
// into a buffer sized once; the filter writes every record and counts the
// kept ones). These probes compare the batch path against the records a
// per-record reference computes: nothing lost, duplicated, reordered or
// stale, timestamps carried, each user function called once per record
// in order, and no operator writing into a run it was handed.

// revRec is a pointer-free record, so that chains of it take runs.
type revRec struct {
	Seq int64
	V   int64
}

// revKeep are the filters of the probes: each rejects a pattern that
// falls on the first, middle and last records of runs of various lengths.
var revKeep = []func(r revRec) bool{
	func(r revRec) bool { return r.Seq%3 != 2 },
	func(r revRec) bool { return r.Seq%5 != 0 },
	func(r revRec) bool { return r.Seq%7 != 6 && r.Seq%11 != 10 },
}

// revReference is what generator → filter0 → filter1 → map(V*2+1) →
// filter2 emits for the sequence numbers seqs, record by record.
func revReference(seqs []int64) []revRec {
	var out []revRec
	for _, s := range seqs {
		r := revRec{Seq: s, V: s * 10}
		if !revKeep[0](r) || !revKeep[1](r) {
			continue
		}
		r.V = r.V*2 + 1
		if revKeep[2](r) {
			out = append(out, r)
		}
	}
	return out
}

// A generator of each count near a run's length, with parallelism 1 and
// 3 (step 3), polled in various sizes through filter → filter → map →
// filter into a sink, on runs of 1 to 16 records, emits exactly what the
// per-record reference emits, in order, and each function sees each
// record once, in order.
func TestReviewRuns_generatorFilterFilterMapFilter_matchesPerRecord(t *testing.T) {
	for _, par := range []int{1, 3} {
		for _, count := range []int64{0, 1, 2, 15, 16, 17, 31, 33, 50, 100} {
			for _, batch := range []int{1, 3, 16, 64} {
				for _, poll := range []int{1, 5, 16, 40} {
					for sub := range par {
						name := fmt.Sprintf("par%d/sub%d/count%d/batch%d/poll%d", par, sub, count, batch, poll)
						revGeneratorCase(t, name, par, sub, count, batch, poll)
					}
				}
			}
		}
	}
}

func revGeneratorCase(t *testing.T, name string, par, sub int, count int64, batch, poll int) {
	t.Helper()
	p := NewPipeline("rev-runs").SetParallelism(par)
	var got []revRec
	var gotTS []int64
	var seen [4][]int64 // the sequence numbers each function saw, in order
	note := func(i int, r revRec) { seen[i] = append(seen[i], r.Seq) }
	src := Generate(p, count, func(s int64) revRec { return revRec{Seq: s, V: s * 10} })
	f0 := Filter(src, func(r revRec) bool { note(0, r); return revKeep[0](r) })
	f1 := Filter(f0, func(r revRec) bool { note(1, r); return revKeep[1](r) })
	m := Map(f1, func(r revRec) revRec { note(2, r); r.V = r.V*2 + 1; return r })
	f2 := Filter(m, func(r revRec) bool { note(3, r); return revKeep[2](r) })
	ToSink(f2, "sink", func(*TaskContext) (SinkWriter[revRec], error) {
		return revWriter(func(v revRec, ts int64) { got = append(got, v); gotTS = append(gotTS, ts) }), nil
	})
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Vertices[0].Open(ChainConfig{Job: "rev-runs", Subtask: sub, BatchSize: batch, Ship: &recordingShipper{}, Wake: func() {}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if runsOf(c.Source.(*sourceRunner[revRec]).out) == nil {
		t.Fatalf("%s: the generator's chain does not take runs", name)
	}
	for polls := 0; ; polls++ {
		res, err := c.Source.Poll(poll)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == PollDone {
			break
		}
		if polls > int(count)+2 {
			t.Fatalf("%s: the generator did not end after %d polls of %d", name, polls, poll)
		}
	}
	var seqs []int64
	for s := int64(sub); s < count; s += int64(par) {
		seqs = append(seqs, s)
	}
	want := revReference(seqs)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: the sink got %v, want %v", name, got, want)
	}
	for i, ts := range gotTS {
		if ts != NoTimestamp {
			t.Fatalf("%s: record %d reached the sink with timestamp %d, want NoTimestamp", name, i, ts)
		}
	}
	// What each function must have seen, record by record.
	var want0, want1, want2, want3 []int64
	for _, s := range seqs {
		r := revRec{Seq: s, V: s * 10}
		want0 = append(want0, s)
		if !revKeep[0](r) {
			continue
		}
		want1 = append(want1, s)
		if !revKeep[1](r) {
			continue
		}
		want2 = append(want2, s)
		want3 = append(want3, s)
	}
	for i, w := range [][]int64{want0, want1, want2, want3} {
		if !slices.Equal(seen[i], w) {
			t.Fatalf("%s: function %d saw %v, want %v", name, i, seen[i], w)
		}
	}
}

// revWriter is a SinkWriter of a function that gets the timestamp too.
type revWriter func(v revRec, ts int64)

func (w revWriter) Write(v revRec, ts int64) error { w(v, ts); return nil }

// An input batch fed in runs through filter → map → filter, whose output
// fills after every shipped batch so that the chain holds the input from
// a run's first record and Resume goes on: the records shipped are the
// reference's, in order and with their timestamps; the input batch is
// never written by an operator (it is the run they were handed, and the
// batch HeldInput gives an unaligned checkpoint); nothing is lost or
// repeated across the stops.
func TestReviewRuns_consumeFilterMapFilter_heldInputIntactAndExact(t *testing.T) {
	for _, batch := range []int{1, 2, 3, 4, 7, 16, 20} {
		for _, n := range []int{1, 5, 16, 17, 40, 64} {
			t.Run(fmt.Sprintf("batch%d/n%d", batch, n), func(t *testing.T) {
				revConsumeCase(t, batch, n)
			})
		}
	}
}

func revConsumeCase(t *testing.T, batch, n int) {
	p := NewPipeline("rev-consume")
	in := FromSlice(p, []revRec{{}}).Rebalance()
	f0 := Filter(in, func(r revRec) bool { return revKeep[0](r) && revKeep[1](r) })
	m := Map(f0, func(r revRec) revRec { r.V = r.V*2 + 1; return r })
	f2 := Filter(m, revKeep[2])
	Discard(f2.Rebalance())
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	sh := &fullShipper{limit: 1}
	c, err := g.Vertices[1].Open(ChainConfig{Job: "rev-consume", BatchSize: batch, Ship: sh, Wake: func() {}, OutputFull: sh.full})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if runsOf(c.hooks[0].(Collector[revRec])) == nil {
		t.Fatal("the chain's head does not take runs")
	}
	input := &Batch[revRec]{}
	var seqs []int64
	for i := range n {
		s := int64(i)
		seqs = append(seqs, s)
		input.Elems = append(input.Elems, Element[revRec]{Value: revRec{Seq: s, V: s * 10}, Timestamp: 1000 + s})
	}
	orig := slices.Clone(input.Elems)
	done := c.Consume(0, input)
	for steps := 0; !done; steps++ {
		_, hb, next, ok := c.HeldInput()
		if !ok {
			t.Fatal("the chain stopped but holds no input")
		}
		held := hb.(*Batch[revRec]).Elems
		if !slices.Equal(held, orig) {
			t.Fatalf("held from %d: the input batch was written while held: %v, was %v", next, held, orig)
		}
		if steps > 4*n+4 {
			t.Fatal("the chain makes no progress")
		}
		sh.limit = len(sh.batches) + 1
		done = c.Resume()
	}
	c.Flush()
	var got []revRec
	var gotTS []int64
	for _, e := range sh.events {
		if b, ok := e.batch.(*Batch[revRec]); ok {
			if len(b.Elems) > batch {
				t.Fatalf("a batch of %d records shipped, batch size %d", len(b.Elems), batch)
			}
			for _, el := range b.Elems {
				got = append(got, el.Value)
				gotTS = append(gotTS, el.Timestamp)
			}
		}
	}
	want := revReference(seqs)
	if !slices.Equal(got, want) {
		t.Fatalf("shipped %v, want %v", got, want)
	}
	for i, r := range got {
		if gotTS[i] != 1000+r.Seq {
			t.Fatalf("record %v shipped with timestamp %d, want %d", r, gotTS[i], 1000+r.Seq)
		}
	}
}

// A filter after a filter, and a filter after a map of the same type,
// each hand the next a run of their own: neither writes into the run it
// was handed (the operator before it reuses it), and the run it hands on
// holds only records it kept, never a rejected or earlier one, even when
// a run keeps fewer records than the previous one or none.
func TestReviewRuns_filterAfterFilter_runsHandedOnAreOwnAndExact(t *testing.T) {
	rec := &runRecorder{}
	f2 := &filterOp[int]{fn: func(v int) bool { return v%2 == 0 }, out: rec, outB: rec}
	f1 := &filterOp[int]{fn: func(v int) bool { return v%3 != 0 }, out: f2, outB: f2}
	m := &mapOp[int, int]{fn: func(v int) int { return v + 1 }, out: f1, outB: f1}
	runs := [][]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, // long run first: the buffers grow
		{20, 21, 22},
		{2, 5, 8}, // map → 3, 6, 9: all rejected by f1
		{30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47}, // longer than before
		{7},
		{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31}, // map → even; f1 drops 3·k
	}
	var want []int
	for _, r := range runs {
		es := make([]Element[int], len(r))
		for i, v := range r {
			es[i] = Element[int]{Value: v, Timestamp: int64(100 * v)}
		}
		before := slices.Clone(es)
		m.collectBatch(es)
		if !slices.Equal(es, before) {
			t.Fatalf("the map wrote into the run it was handed: %v, was %v", es, before)
		}
		for _, v := range r {
			if w := v + 1; w%3 != 0 && w%2 == 0 {
				want = append(want, w)
			}
		}
	}
	var got []int
	for _, e := range rec.got {
		got = append(got, e.Value)
		if e.Timestamp != int64(100*(e.Value-1)) {
			t.Errorf("record %d carried timestamp %d, want %d", e.Value, e.Timestamp, 100*(e.Value-1))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("records after map → filter → filter: %v, want %v", got, want)
	}
	for _, err := range rec.errs {
		t.Error(err)
	}
}

// runRecorder is a batch collector at the end of a test chain: it copies
// each run it gets, and notes an empty one (a run is never empty).
type runRecorder struct {
	got  []Element[int]
	errs []error
}

func (r *runRecorder) Collect(v int, ts int64) {
	r.got = append(r.got, Element[int]{Value: v, Timestamp: ts})
}

func (r *runRecorder) takesRuns() bool { return true }

func (r *runRecorder) collectBatch(es []Element[int]) {
	if len(es) == 0 {
		r.errs = append(r.errs, fmt.Errorf("an empty run was handed on"))
	}
	r.got = append(r.got, es...)
}

// A generator (step 1) through filter → map → filter into a hash router
// whose output fills after every batch: the source holds the rest of its
// poll (the runs the generator wrote into the buffer it reuses), and
// Resume, one batch of room at a time, ships exactly the reference's
// records, none lost, repeated or stale.
func TestReviewRuns_generatorHeldWhileOutputFull_exact(t *testing.T) {
	for _, count := range []int64{17, 100} {
		t.Run(fmt.Sprint(count), func(t *testing.T) {
			p := NewPipeline("rev-held")
			src := Generate(p, count, func(s int64) revRec { return revRec{Seq: s, V: s * 10} }).Parallelism(1)
			f0 := Filter(src, func(r revRec) bool { return revKeep[0](r) && revKeep[1](r) })
			m := Map(f0, func(r revRec) revRec { r.V = r.V*2 + 1; return r })
			f2 := Filter(m, revKeep[2])
			Discard(Reduce(KeyBy(f2, func(r revRec) int64 { return r.Seq }), func(_, v revRec) revRec { return v }).Parallelism(2))
			c, sh := openHeld(t, p, 0)
			if runsOf(c.Source.(*sourceRunner[revRec]).out) == nil {
				t.Fatal("the generator's chain does not take runs")
			}
			held := false
			for polls := 0; ; polls++ {
				held = held || c.Pending()
				for steps := 0; c.Pending(); steps++ {
					sh.limit = len(sh.batches) + 1
					c.Resume()
					if steps > int(count)+2 {
						t.Fatal("Resume makes no progress")
					}
				}
				res, err := c.Source.Poll(64)
				if err != nil {
					t.Fatal(err)
				}
				if res.Status == PollDone && !c.Pending() {
					break
				}
				if polls > int(count)+2 {
					t.Fatal("the generator did not end")
				}
			}
			if !held {
				t.Fatal("the source never held records: the probe did not reach the held path")
			}
			c.Flush()
			var got []revRec
			for _, e := range sh.events {
				if b, ok := e.batch.(*Batch[revRec]); ok {
					for _, el := range b.Elems {
						got = append(got, el.Value)
					}
				}
			}
			slices.SortFunc(got, func(a, b revRec) int { return int(a.Seq - b.Seq) })
			var seqs []int64
			for s := range count {
				seqs = append(seqs, s)
			}
			if want := revReference(seqs); !slices.Equal(got, want) {
				t.Fatalf("shipped (sorted) %v, want %v", got, want)
			}
		})
	}
}

// A filter's or a map's function that panics in the middle of a run hands
// nothing of that run on (the subtask fails and restarts from a
// checkpoint, so no record of it may have left), and should the operator
// take another run, that run goes on exactly, with nothing left over from
// the one the panic cut.
func TestReviewRuns_panicMidRun_handsNothingOnAndLeavesNothingBehind(t *testing.T) {
	for _, where := range []string{"filter", "map"} {
		t.Run(where, func(t *testing.T) {
			rec := &runRecorder{}
			boom := -1
			f := &filterOp[int]{fn: func(v int) bool {
				if where == "filter" && v == boom {
					panic("boom")
				}
				return v%4 != 3
			}, out: rec, outB: rec}
			m := &mapOp[int, int]{fn: func(v int) int {
				if where == "map" && v == boom {
					panic("boom")
				}
				return v
			}, out: f, outB: f}
			feed := func(vs ...int) (panicked bool) {
				defer func() { panicked = recover() != nil }()
				es := make([]Element[int], len(vs))
				for i, v := range vs {
					es[i] = Element[int]{Value: v, Timestamp: int64(v)}
				}
				m.collectBatch(es)
				return false
			}
			feed(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
			before := len(rec.got)
			boom = 25
			if !feed(20, 21, 22, 24, 25, 26, 27) {
				t.Fatal("the function did not panic")
			}
			if len(rec.got) != before {
				t.Fatalf("a run cut by a panic handed on %v", rec.got[before:])
			}
			boom = -1
			feed(30, 31, 32)
			var got []int
			for _, e := range rec.got {
				got = append(got, e.Value)
			}
			want := []int{0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 30, 32}
			if !slices.Equal(got, want) {
				t.Fatalf("handed on %v, want %v", got, want)
			}
		})
	}
}
