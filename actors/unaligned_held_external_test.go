package actors_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// Unaligned checkpoints while a chain holds records: a FlatMap that fans
// each record out fan times fills its output long before it is through an
// input batch (or its source's poll), so its chain stops between two
// records and holds the rest (the memory bound) — and an unaligned
// barrier arrives meanwhile. The slow sink keeps every channel's window
// full. Whatever the chain held at the checkpoint restored, the output is
// exactly once and in order per key:
//
//   - "input batch": the FlatMap is a vertex of its own; the rest of the
//     input batch it holds has reached no operator, so the barrier that
//     overtakes it stores it as in-flight data (Chain.HeldInput);
//   - "source poll": the FlatMap is chained to its source; the rest of
//     the poll is counted by the reader's position and has reached no
//     operator, so the checkpoint stores it as the source's in-flight
//     data (Chain.HeldSource), and the restore feeds it in first.
//
// Without either, the records held at the checkpoint are lost at the
// restore (docs/state.md, "Records a chain holds").
func TestUnaligned_heldRecords_exactlyOnce(t *testing.T) {
	const n, fan, keys = 600, 16, 7
	for _, tc := range []struct {
		name     string
		input    func(operators.Stream[int64]) operators.Stream[int64]
		fromPoll bool // the restored checkpoint must hold a source's held poll
	}{
		{"input batch", func(s operators.Stream[int64]) operators.Stream[int64] { return s.Rebalance() }, false},
		{"source poll", func(s operators.Stream[int64]) operators.Stream[int64] { return s }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := seeded(t)
			share := int64(0) // the records slow subtask 0 gets: its keys'
			for k := range int64(keys) {
				if operators.SubtaskOf(operators.KeyGroup(operators.HashKey(k), operators.DefaultMaxParallelism), 2, operators.DefaultMaxParallelism) == 0 {
					share += n * fan / keys
				}
			}
			at := share/4 + rng.Int64N(share/2)
			t.Logf("slow subtask 0 fails at its record %d of %d", at, share)
			var restored restoredChannels
			when := replayable{fromPoll: tc.fromPoll} // see TestUnaligned_keyedSlowSink_failures_exactlyOnce
			r := testkit.NewRunner(t, testkit.WithRunTimeout(90*time.Second), testkit.WithConfig(unaligned(t, 5*time.Millisecond, 0)),
				testkit.WithConfig(func(c *actors.Config) { c.OnRestart = when.restarted(restored.onRestart) }))
			r.Faults().FailAt("slow", testkit.AtRecord(at), testkit.InSubtask(0), testkit.When(when.ready))
			p := operators.NewPipeline("unaligned-held-" + tc.name).SetParallelism(1)
			src := operators.Generate(p, n, func(seq int64) int64 { return seq }).Name("gen")
			fanned := operators.FlatMap(tc.input(src), func(v int64, emit func(int64)) {
				for i := range int64(fan) {
					emit(v*fan + i)
				}
			}).Name("fan")
			slow := operators.ProcessKeyed(operators.KeyBy(fanned, func(v int64) int64 { return v % keys }),
				func(_ *operators.KeyedContext[int64], v int64, out operators.Collector[int64]) error {
					spinSink.Add(spinFor(slowSpin(v) / 10))
					out.Collect(v, operators.NoTimestamp)
					return nil
				}).Name("slow").Parallelism(2)
			out := operators.Collect(slow).Name("sink").Parallelism(2)
			job := r.Start(p)
			when.job.Store(job)
			res := r.Wait(job)
			if res.State != actors.JobFinished || res.Restarts != 1 {
				t.Fatalf("%v, faults %+v: want finished after one restart", res, r.Faults().Fired())
			}
			sent := map[string][]int64{"gen": testkit.SeqRange(0, n*fan)}
			testkit.AssertExactlyOnce(t, sent, out.Values(), func(v int64) testkit.RecordID {
				return testkit.RecordID{Source: "gen", Seq: v}
			}, testkit.InOrderBy(func(v int64) int64 { return v % keys }))
			restored.mu.Lock()
			defer restored.mu.Unlock()
			if len(restored.errs) > 0 || len(restored.inFlight) != 1 || restored.inFlight[0] == 0 {
				t.Fatalf("restores: in flight %v, errors %v: want one restore of a checkpoint with in-flight data", restored.inFlight, restored.errs)
			}
			t.Logf("the restored checkpoint holds %d entries of a source's held poll", restored.held[0])
			if tc.fromPoll && restored.held[0] == 0 {
				t.Fatal("the restored checkpoint holds nothing of the source's poll: its replay was not exercised")
			}
			checkUnalignedStats(t, job, true)
		})
	}
}

// With an alignment timeout, a checkpoint starts aligned — also at a
// source, whose barrier then waits for the rest of the poll its chain
// holds to go in, which needs credit. Under backpressure that credit may
// not come for as long as the backlog downstream takes (here: never,
// while the async call of the first record hangs), so at the deadline
// the source takes the checkpoint unaligned, as the subtasks downstream
// do: the held poll is stored as the source's in-flight data and the
// barrier overtakes its output (Flink's aligned checkpoint timeout
// counts from the trigger at the source too). The checkpoint completes
// while the call still hangs; a failure then restores it, and the output
// is exactly once and in order.
func TestAlignmentTimeout_sourceHoldingItsPollTurnsUnaligned(t *testing.T) {
	const n, fan = 64, 100
	var checkpointed atomic.Bool
	hang := newFirstCallHangs(t)
	var restored restoredChannels
	when := replayable{fromPoll: true}
	r := testkit.NewRunner(t, testkit.WithRunTimeout(90*time.Second),
		testkit.WithConfig(unaligned(t, 10*time.Millisecond, 20*time.Millisecond)),
		testkit.WithConfig(func(c *actors.Config) { c.OnRestart = when.restarted(restored.onRestart) }))
	r.Faults().FailAt("sink", testkit.When(func() bool { return checkpointed.Load() }))
	p := operators.NewPipeline("timeout-at-source").SetParallelism(1)
	out := operators.Collect(fanIntoLookup(p, n, fan, hang.call)).Name("sink")
	job := r.Start(p)
	when.job.Store(job)
	hang.waitStarted(t)
	testkit.Eventually(t, 30*time.Second, when.ready,
		"a checkpoint holding the source's held poll to complete while the async call hangs")
	checkpointed.Store(true)
	hang.release()
	res := r.Wait(job)
	if res.State != actors.JobFinished || res.Restarts != 1 {
		t.Fatalf("%v, faults %+v: want finished after one restart", res, r.Faults().Fired())
	}
	testkit.AssertExactlyOnce(t, map[string][]int64{"gen": testkit.SeqRange(0, n*fan)}, out.Values(),
		func(v int64) testkit.RecordID { return testkit.RecordID{Source: "gen", Seq: v} },
		testkit.InOrderBy(func(int64) int { return 0 }))
	restored.mu.Lock()
	defer restored.mu.Unlock()
	if len(restored.errs) > 0 {
		t.Fatal(restored.errs)
	}
}

// firstCallHangs is an async call whose first call hangs until released
// (or its context ends); every call returns its input.
type firstCallHangs struct {
	blocked           atomic.Bool
	started, released chan struct{}
	releaseOnce       sync.Once
}

// newFirstCallHangs returns a hanging call that the test's end releases.
func newFirstCallHangs(t *testing.T) *firstCallHangs {
	h := &firstCallHangs{started: make(chan struct{}), released: make(chan struct{})}
	t.Cleanup(h.release)
	return h
}

func (h *firstCallHangs) call(ctx context.Context, v int64) ([]int64, error) {
	if h.blocked.CompareAndSwap(false, true) {
		close(h.started)
		select {
		case <-h.released:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return []int64{v}, nil
}

func (h *firstCallHangs) release() { h.releaseOnce.Do(func() { close(h.released) }) }

// waitStarted waits for the first call.
func (h *firstCallHangs) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-h.started:
	case <-time.After(30 * time.Second):
		t.Fatal("the first async call never started")
	}
}

// fanIntoLookup is a source of n numbers, each fanned out fan times by
// a FlatMap chained to it, rebalanced into an async lookup of capacity 1
// that calls call: with a call that hangs, the source's chain holds the
// rest of its poll, waiting for credit.
func fanIntoLookup(p *operators.Pipeline, n, fan int64, call func(context.Context, int64) ([]int64, error)) operators.Stream[int64] {
	src := operators.Generate(p, n, func(seq int64) int64 { return seq }).Name("gen")
	fanned := operators.FlatMap(src, func(v int64, emit func(int64)) {
		for i := range fan {
			emit(v*fan + i)
		}
	}).Name("fan")
	return operators.AsyncMap(fanned.Rebalance(), call, operators.AsyncConfig[int64, int64]{Capacity: 1}).Name("lookup")
}
