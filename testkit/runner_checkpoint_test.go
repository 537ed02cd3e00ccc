package testkit

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// pacedItems is keyedItems with sources paced to perSecond records per
// subtask, so that checkpoints are taken while the job runs.
func pacedItems(name string, n int64, perSecond float64) (*operators.Pipeline, *operators.Collected[item]) {
	p := operators.NewPipeline(name).SetParallelism(2)
	src := operators.Generate(p, n, func(seq int64) item { return item{Seq: seq, Key: int(seq % 7)} },
		operators.RateLimit(perSecond)).Name("gen")
	m := operators.Map(src, func(it item) item { return it }).Name("fragile")
	ks := operators.KeyBy(m, func(it item) int { return it.Key })
	pass := operators.Reduce(ks, func(_, it item) item { return it }).Name("pass")
	return p, operators.Collect(pass)
}

func TestRunner_withCheckpoints_faultInMapIsExactlyOnce(t *testing.T) {
	r := NewRunner(t, WithCheckpoints(5*time.Millisecond))
	r.Faults().FailAt("fragile", AtRecord(3000), InSubtask(1))
	p, out := pacedItems("exact", 8000, 10000)
	res := r.Run(p)
	if res.State != actors.JobFinished || res.Restarts != 1 || len(r.Faults().Fired()) != 1 {
		t.Fatalf("got %v with faults %v, want finished after 1 restart", res, r.Faults().Fired())
	}
	AssertExactlyOnce(t, sentItems(8000), out.Values(), itemID, InOrderBy(byKey))
}

func TestRunner_withCheckpoints_faultsInSnapshotAndRestore(t *testing.T) {
	r := NewRunner(t, WithCheckpoints(5*time.Millisecond))
	r.Faults().FailAtSnapshot("pass", AtRecord(3), InSubtask(0))
	r.Faults().FailAtRestore("pass", InSubtask(1))
	p, out := pacedItems("snap", 8000, 10000)
	res := r.Run(p)
	if res.State != actors.JobFinished || res.Restarts != 2 {
		t.Fatalf("got %v with faults %v, want finished after 2 restarts", res, r.Faults().Fired())
	}
	fired := r.Faults().Fired()
	if len(fired) != 2 || fired[0].Point != operators.FaultSnapshot || fired[1].Point != operators.FaultRestore {
		t.Fatalf("fired %+v, want a snapshot fault then a restore fault", fired)
	}
	AssertExactlyOnce(t, sentItems(8000), out.Values(), itemID, InOrderBy(byKey))
}
