package testkit

import (
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// runOrder records, per generator subtask, which of two chained
// operators' functions ran, in order: on the batch path the first runs
// for a whole run of records before the second sees any of them.
type runOrder struct {
	mu    sync.Mutex
	calls map[int64][]byte // by Seq%2, the subtask that made the record
}

func (o *runOrder) note(it item, op byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls[it.Seq%2] = append(o.calls[it.Seq%2], op)
}

// longestStreak returns the most calls of op in a row seen.
func (o *runOrder) longestStreak(op byte) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	best := 0
	for _, calls := range o.calls {
		n := 0
		for _, c := range calls {
			if c != op {
				n = 0
				continue
			}
			n++
			best = max(best, n)
		}
	}
	return best
}

// A Runner's chains take runs (its fault taps hand runs on, 054f606), and
// a fault at a record in the middle of a run — in the source's poll, in
// a map and in the sink, each at a record that is not the first of a run
// of 16 — fires at exactly that record and leaves the output exactly once
// and in order per key after the restarts from checkpoints.
func TestRunner_batchPath_faultsMidRun_exactlyOnce(t *testing.T) {
	const n = 10000
	r := NewRunner(t, WithCheckpoints(5*time.Millisecond), WithRestart(actors.FixedDelay(5, time.Millisecond)))
	r.Faults().FailAt("sink", AtRecord(400+5), InSubtask(0))
	r.Faults().FailAt("gen", AtRecord(300+7), InSubtask(0), InAttempt(1))
	r.Faults().FailAt("fragile", AtRecord(200+9), InSubtask(1), InAttempt(2))
	order := &runOrder{calls: map[int64][]byte{}}
	p := operators.NewPipeline("mid-run").SetParallelism(2)
	src := operators.Generate(p, n, func(seq int64) item { return item{Seq: seq, Key: int(seq % 7)} },
		operators.RateLimit(20000)).Name("gen")
	m := operators.Map(src, func(it item) item { order.note(it, 'm'); return it }).Name("fragile")
	f := operators.Filter(m, func(it item) bool { order.note(it, 'f'); return true }).Name("all")
	pass := operators.Reduce(operators.KeyBy(f, byKey), func(_, it item) item { return it }).Name("pass")
	out := operators.Collect(pass)
	out.Sink.Name("sink")
	res := r.Run(p)
	if res.State != actors.JobFinished || res.Restarts != 3 {
		t.Fatalf("got %v with faults %+v, want finished after 3 restarts", res, r.Faults().Fired())
	}
	fired := r.Faults().Fired()
	want := []struct {
		op     string
		record int64
	}{{"sink", 405}, {"gen", 307}, {"fragile", 209}}
	if len(fired) != len(want) {
		t.Fatalf("fired %+v, want %v", fired, want)
	}
	for i, w := range want {
		if fired[i].Operator != w.op || fired[i].Record != w.record || fired[i].Attempt != i {
			t.Errorf("fault %d: %+v, want %s at record %d in attempt %d", i, fired[i], w.op, w.record, i)
		}
	}
	if s := order.longestStreak('m'); s < 2 {
		t.Errorf("the map's function ran at most %d times before the filter's: the chain went record by record, not in runs", s)
	}
	AssertExactlyOnce(t, sentItems(n), out.Values(), itemID, InOrderBy(byKey))
}
