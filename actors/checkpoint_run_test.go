package actors_test

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

type keyCount struct {
	Key   int64 `json:"key"`
	Count int64 `json:"count"`
}

// sameNameCount is a job named "count" whose keyed counter is named op:
// it counts n records over keys base..base+keys-1, so that the output of
// two jobs of one name can be told apart by their keys.
func sameNameCount(op string, n, keys, base int64, rate float64) (*operators.Pipeline, *operators.Collected[keyCount]) {
	p := operators.NewPipeline("count").SetParallelism(2)
	src := operators.Generate(p, n, func(i int64) keyed { return keyed{Key: base + i%keys, Seq: i} }, operators.RateLimit(rate))
	ks := operators.KeyBy(src, func(e keyed) int64 { return e.Key })
	out := operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[int64], e keyed, out operators.Collector[keyCount]) error {
		state, err := operators.GetValueState(ctx, operators.ValueDescriptor[int64]{Name: "value"})
		if err != nil {
			return err
		}
		c, _ := state.Value()
		state.Update(c + 1)
		out.Collect(keyCount{Key: e.Key, Count: c + 1}, operators.NoTimestamp)
		return nil
	}).Name(op)
	return p, operators.Collect(out)
}

// checkKeyCounts checks that got holds every (key, count) of a
// sameNameCount job exactly once, and nothing else.
func checkKeyCounts(t *testing.T, job string, got []keyCount, n, keys, base int64) {
	t.Helper()
	seen := map[keyCount]int{}
	for _, c := range got {
		seen[c]++
	}
	for k := range keys {
		per := n / keys
		if k < n%keys {
			per++
		}
		for c := int64(1); c <= per; c++ {
			if m := seen[keyCount{Key: base + k, Count: c}]; m != 1 {
				t.Fatalf("%s: key %d count %d committed %d times (%d records committed, want %d)", job, base+k, c, m, len(got), n)
			}
		}
	}
	if int64(len(got)) != n {
		t.Fatalf("%s: committed %d records, want %d", job, len(got), n)
	}
}

func checkFinished(t *testing.T, res *testkit.RunResult, restarts int) {
	t.Helper()
	if res.State != actors.JobFinished || res.Restarts != restarts {
		t.Fatalf("%v; want finished after %d restarts", res, restarts)
	}
}

// Two jobs of one name in one engine, one after the other: the second
// fails at its first snapshot, before any checkpoint of its own, and
// restarts. It must start afresh — not from the first job's checkpoint
// (which would end it at once with nothing committed, or commit the first
// job's output) — and commit each of its own records exactly once.
func TestCheckpoint_sameNameInSequence_restoresOnlyItsOwnRun(t *testing.T) {
	const n, keys = 3000, 17
	r := testkit.NewRunner(t, testkit.WithCheckpoints(20*time.Millisecond))
	p1, sink1 := sameNameCount("count", n, keys, 0, 20000)
	j1 := r.Start(p1)
	checkFinished(t, r.Wait(j1), 0)
	checkKeyCounts(t, "first job", sink1.Values(), n, keys, 0)
	if _, ok := j1.LatestCheckpoint(); !ok {
		t.Fatal("the first job left no checkpoint: the test would prove nothing")
	}

	r.Faults().FailAtSnapshot("count") // the second job's first snapshot
	p2, sink2 := sameNameCount("count", n, keys, 1000, 20000)
	j2 := r.Start(p2)
	checkFinished(t, r.Wait(j2), 1)
	if fired := r.Faults().Fired(); len(fired) != 1 {
		t.Fatalf("faults fired: %v; want one, in the second job", fired)
	}
	checkKeyCounts(t, "second job", sink2.Values(), n, keys, 1000)
	checkKeyCounts(t, "first job", sink1.Values(), n, keys, 0)
	if j1.RunID() == "" || j1.RunID() == j2.RunID() {
		t.Fatalf("run ids %q and %q: want two different ones", j1.RunID(), j2.RunID())
	}
}

// Two jobs of one name running at the same time: B has checkpoints when A
// starts; A fails at its first snapshot, before any checkpoint of its own.
// A must restart afresh, never from B's checkpoint, and each job must
// commit its own records exactly once.
func TestCheckpoint_sameNameAtOnce_restoresOnlyItsOwnRun(t *testing.T) {
	const nA, nB, keys = 3000, 16000, 13
	r := testkit.NewRunner(t, testkit.WithCheckpoints(20*time.Millisecond))
	pB, sinkB := sameNameCount("countB", nB, keys, 0, 8000)
	jB := r.Start(pB)
	testkit.Eventually(t, 20*time.Second, func() bool { _, ok := jB.LatestCheckpoint(); return ok }, "a checkpoint of B")

	r.Faults().FailAtSnapshot("countA") // A's first snapshot
	pA, sinkA := sameNameCount("countA", nA, keys, 1000, 8000)
	jA := r.Start(pA)
	resA, resB := r.Wait(jA), r.Wait(jB)
	checkFinished(t, resA, 1)
	checkFinished(t, resB, 0)
	checkKeyCounts(t, "A", sinkA.Values(), nA, keys, 1000)
	checkKeyCounts(t, "B", sinkB.Values(), nB, keys, 0)
	if jA.RunID() == jB.RunID() {
		t.Fatalf("both jobs have run id %q", jA.RunID())
	}
}
