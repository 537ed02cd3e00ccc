package testkit

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// Review of cb526f9 (the filter writes every record of a run into its
// buffer and hands on the kept ones): a chain of generator (step 2) →
// filter → map → filter → keyed pass-through on the batch path, whose
// filters reject records at every position of a run, with faults in the
// middle of a run in each filter, commits exactly the records both
// filters keep, once each and in order per key, after the restarts.
func TestReviewRuns_batchPath_rejectingFiltersWithFaultsMidRun_exactlyOnce(t *testing.T) {
	const n = 6000
	keep1 := func(it item) bool { return it.Seq%3 != 2 }
	keep2 := func(it item) bool { return it.Seq%7 != 0 && it.Seq%16 != 15 }
	r := NewRunner(t, WithCheckpoints(5*time.Millisecond), WithRestart(actors.FixedDelay(5, time.Millisecond)))
	r.Faults().FailAt("drop-thirds", AtRecord(300+5), InSubtask(0))
	r.Faults().FailAt("drop-sevenths", AtRecord(250+11), InSubtask(1), InAttempt(1))
	r.Faults().FailAt("gen", AtRecord(500+3), InSubtask(1), InAttempt(2))
	p := operators.NewPipeline("rev-runs-filter").SetParallelism(2)
	src := operators.Generate(p, n, func(seq int64) item { return item{Seq: seq, Key: int(seq % 5)} },
		operators.RateLimit(20000)).Name("gen")
	f1 := operators.Filter(src, keep1).Name("drop-thirds")
	m := operators.Map(f1, func(it item) item { it.Key = int(it.Seq % 5); return it }).Name("same")
	f2 := operators.Filter(m, keep2).Name("drop-sevenths")
	pass := operators.Reduce(operators.KeyBy(f2, byKey), func(_, it item) item { return it }).Name("pass")
	out := operators.Collect(pass)
	out.Sink.Name("sink")
	res := r.Run(p)
	if res.State != actors.JobFinished || res.Restarts != 3 {
		t.Fatalf("got %v with faults %+v, want finished after 3 restarts", res, r.Faults().Fired())
	}
	sent := map[string][]int64{}
	for seq := range int64(n) {
		if it := (item{Seq: seq}); keep1(it) && keep2(it) {
			src := itemID(it).Source
			sent[src] = append(sent[src], seq)
		}
	}
	AssertExactlyOnce(t, sent, out.Values(), itemID, InOrderBy(byKey))
}
