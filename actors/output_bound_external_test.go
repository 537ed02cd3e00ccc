package actors_test

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// Exactly once while a source holds what its output cannot take: a
// FlatMap chained to the source fans each record out 20 times into
// batches of 16 with 2 credits, so most polls stop part way and the
// source holds the rest (its read position counts it); checkpoints every
// 2 ms then wait until what it holds has gone downstream. A fault in a
// record downstream, or in the source's snapshot, restores from a
// checkpoint: every fanned-out record must be committed exactly once.
func TestCheckpoint_heldSourceRecords_exactlyOnce(t *testing.T) {
	const n, fan = 2000, 20
	for _, fault := range []string{"record", "snapshot"} {
		t.Run(fault, func(t *testing.T) {
			r := testkit.NewRunner(t, testkit.WithCheckpoints(2*time.Millisecond))
			switch fault {
			case "record":
				r.Faults().FailAt("fragile", testkit.AtRecord(n*fan/4), testkit.InSubtask(1))
			case "snapshot":
				r.Faults().FailAtSnapshot("gen", testkit.AtRecord(5))
			}
			p := operators.NewPipeline("held-" + fault).SetParallelism(2)
			src := operators.Generate(p, n, func(seq int64) int64 { return seq }, operators.RateLimit(40000)).Parallelism(1).Name("gen")
			fanned := operators.FlatMap(src, func(v int64, emit func(int64)) {
				for i := range int64(fan) {
					emit(v*fan + i)
				}
			}).Parallelism(1).Name("fan")
			out := operators.Collect(operators.Map(fanned.Rebalance(), func(v int64) int64 { return v }).Name("fragile"))
			res := r.Run(p)
			if res.State != actors.JobFinished || res.Restarts != 1 || len(r.Faults().Fired()) != 1 {
				t.Fatalf("got %v with faults %v, want finished after 1 restart", res, r.Faults().Fired())
			}
			sent := map[string][]int64{"gen": testkit.SeqRange(0, n*fan)}
			testkit.AssertExactlyOnce(t, sent, out.Values(), func(v int64) testkit.RecordID {
				return testkit.RecordID{Source: "gen", Seq: v}
			})
		})
	}
}
