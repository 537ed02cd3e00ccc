package actors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

type event struct {
	Key int64 `json:"key"`
	Seq int64 `json:"seq"`
}

type counted struct {
	Key   int64 `json:"key"`
	Count int64 `json:"count"`
}

// eventCount is the running count of an event's key.
var eventCount = operators.ValueDescriptor[int64]{Name: "count"}

// countEvent counts the events of the current key and emits the new count.
func countEvent(ctx *operators.KeyedContext[int64], e event, out operators.Collector[counted]) error {
	state, err := operators.GetValueState(ctx, eventCount)
	if err != nil {
		return err
	}
	c, _ := state.Value()
	state.Update(c + 1)
	out.Collect(counted{Key: e.Key, Count: c + 1}, operators.NoTimestamp)
	return nil
}

// countPipeline counts records per key at parallelism 4; the counter is
// named "count" for fault injection.
func countPipeline(n int64, keys int64, rate float64) (*operators.Pipeline, *operators.Collected[counted]) {
	p := operators.NewPipeline("count").SetParallelism(4)
	src := operators.Generate(p, n, func(i int64) event { return event{Key: i % keys, Seq: i} }, operators.RateLimit(rate))
	ks := operators.KeyBy(src, func(e event) int64 { return e.Key })
	out := operators.ProcessKeyed(ks, countEvent).Name("count")
	return p, operators.Collect(out).Parallelism(2)
}

// faultAfterCheckpoint panics in operator op at its next record once the
// job has completed a checkpoint and processed at least `after` records,
// in the first attempt only.
type faultAfterCheckpoint struct {
	job     atomic.Pointer[Job]
	op      string
	after   int64
	seen    atomic.Int64
	fired   atomic.Bool
	attempt atomic.Int64
}

func (f *faultAfterCheckpoint) BeforeRecord(op operators.TaskInfo) {
	if op.Operator != f.op || op.Attempt != 1 || f.fired.Load() {
		return
	}
	if f.seen.Add(1) < f.after {
		return
	}
	if j := f.job.Load(); j != nil {
		if _, ok := j.LatestCheckpoint(); ok && f.fired.CompareAndSwap(false, true) {
			panic(fmt.Sprintf("injected fault in %s subtask %d", op.Operator, op.Subtask))
		}
	}
}

// midway returns a record count between 40 % and 70 % of n, at random
// (logged, so that a failure can be replayed with TROUPE_SEED).
func midway(t *testing.T, n int64) int64 {
	t.Helper()
	seed := time.Now().UnixNano()
	if s, err := strconv.ParseInt(os.Getenv("TROUPE_SEED"), 10, 64); err == nil {
		seed = s
	}
	at := n * (40 + rand.New(rand.NewPCG(uint64(seed), 0)).Int64N(31)) / 100
	t.Logf("fault after %d of %d records (TROUPE_SEED=%d)", at, n, seed)
	return at
}

func checkCounts(t *testing.T, got []counted, n, keys int64) {
	t.Helper()
	seen := map[counted]int{}
	for _, c := range got {
		seen[c]++
	}
	for k := range keys {
		per := n / keys
		if k < n%keys {
			per++
		}
		for c := int64(1); c <= per; c++ {
			if m := seen[counted{Key: k, Count: c}]; m != 1 {
				t.Fatalf("key %d count %d committed %d times", k, c, m)
			}
		}
	}
	if int64(len(got)) != n {
		t.Fatalf("committed %d records, want %d", len(got), n)
	}
}

func TestCheckpoint_failureInMap_exactlyOnce(t *testing.T) {
	fault := &faultAfterCheckpoint{op: "count", after: midway(t, countRecords)}
	j := runCounted(t, fault, &fault.job)
	if !fault.fired.Load() || j.Restarts() != 1 {
		t.Fatalf("fault fired %v, restarts %d: want a failure after a checkpoint and one restart", fault.fired.Load(), j.Restarts())
	}
}

// pointFault panics once at a fault point of operator op, in the given
// attempt, once the job has a complete checkpoint.
type pointFault struct {
	job     atomic.Pointer[Job]
	point   operators.FaultPoint
	op      string
	attempt int
	after   int64 // records of op to wait for first
	seen    atomic.Int64
	fired   atomic.Bool
}

func (f *pointFault) BeforeRecord(op operators.TaskInfo) {
	if op.Operator == f.op {
		f.seen.Add(1)
	}
}

func (f *pointFault) At(point operators.FaultPoint, op operators.TaskInfo) error {
	if point != f.point || op.Operator != f.op || op.Attempt != f.attempt || f.fired.Load() || f.seen.Load() < f.after {
		return nil
	}
	j := f.job.Load()
	if j == nil {
		return nil
	}
	if _, ok := j.LatestCheckpoint(); (ok || point == operators.FaultRestore) && f.fired.CompareAndSwap(false, true) {
		panic(fmt.Sprintf("injected fault at point %d in %s", point, op.Operator))
	}
	return nil
}

// countRecords is how many records runCounted's job counts.
const countRecords = 40000

// runCounted runs the count pipeline with checkpoints and an injector,
// and checks the committed output is exactly once.
func runCounted(t *testing.T, faults operators.FaultInjector, job *atomic.Pointer[Job]) *Job {
	t.Helper()
	return runCountedWith(t, faults, job, nil, nil)
}

// runCountedWith is runCounted with edit applied to the engine's config
// and during run on the job while it runs (it must return once the job
// has ended).
func runCountedWith(t *testing.T, faults operators.FaultInjector, job *atomic.Pointer[Job], edit func(*Config), during func(*Job)) *Job {
	t.Helper()
	const n, keys = countRecords, 61
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Restart = FixedDelay(3, time.Millisecond)
		c.Faults = faults
		c.BatchSize = 64
		if edit != nil {
			edit(c)
		}
	})
	p, sink := countPipeline(n, keys, 10000)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.Submit(g)
	if err != nil {
		t.Fatal(err)
	}
	job.Store(j)
	duringDone := make(chan struct{})
	go func() {
		defer close(duringDone)
		if during != nil {
			during(j)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	defer func() { <-duringDone }()
	if err := j.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, sink.Values(), n, keys)
	checkOrder(t, sink.BySubtask())
	return j
}

// checkOrder checks that each sink subtask committed each key's counts in
// increasing order: records of one key travel one path, whose order the
// restart must keep.
func checkOrder(t *testing.T, parts [][]operators.Element[counted]) {
	t.Helper()
	for i, part := range parts {
		last := map[int64]int64{}
		for _, e := range part {
			if e.Value.Count <= last[e.Value.Key] {
				t.Fatalf("sink subtask %d: key %d count %d after %d", i, e.Value.Key, e.Value.Count, last[e.Value.Key])
			}
			last[e.Value.Key] = e.Value.Count
		}
	}
}

func TestCheckpoint_failureInSnapshot_exactlyOnce(t *testing.T) {
	f := &pointFault{point: operators.FaultSnapshot, op: "count", attempt: 1, after: midway(t, countRecords)}
	j := runCounted(t, f, &f.job)
	if !f.fired.Load() || j.Restarts() != 1 {
		t.Fatalf("fault fired %v, restarts %d; want one failure in a snapshot", f.fired.Load(), j.Restarts())
	}
}

// A restore that fails is retried from the same checkpoint.
func TestCheckpoint_failureInRestore_exactlyOnce(t *testing.T) {
	rec := &faultAfterCheckpoint{op: "count", after: midway(t, countRecords)}
	res := &pointFault{point: operators.FaultRestore, op: "count", attempt: 2}
	var job atomic.Pointer[Job]
	j := runCounted(t, faultPair{rec, res, &job}, &job)
	if !rec.fired.Load() || !res.fired.Load() || j.Restarts() != 2 {
		t.Fatalf("record fault %v, restore fault %v, restarts %d; want both and 2 restarts", rec.fired.Load(), res.fired.Load(), j.Restarts())
	}
}

// faultPair injects a record fault and a restore fault, sharing the job.
type faultPair struct {
	rec *faultAfterCheckpoint
	res *pointFault
	job *atomic.Pointer[Job]
}

func (f faultPair) BeforeRecord(op operators.TaskInfo) {
	if j := f.job.Load(); j != nil {
		f.rec.job.Store(j)
		f.res.job.Store(j)
	}
	f.rec.BeforeRecord(op)
}

func (f faultPair) At(point operators.FaultPoint, op operators.TaskInfo) error {
	if j := f.job.Load(); j != nil {
		f.res.job.Store(j)
	}
	return f.res.At(point, op)
}

// Savepoints taken in a loop while periodic checkpoints run and a subtask
// fails: the committed output is still exactly once, and every savepoint
// call returns either a complete, restorable savepoint (all the state
// files it lists exist) or an error.
func TestCheckpoint_savepointsDuringFailure_exactlyOnce(t *testing.T) {
	fault := &faultAfterCheckpoint{op: "count", after: midway(t, countRecords)}
	root := filepath.Join(t.TempDir(), "checkpoints")
	var paths []string
	var failed int
	j := runCountedWith(t, fault, &fault.job, func(c *Config) {
		c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return persistence.OpenDirStore(root, 2) }
	}, func(j *Job) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for j.State() != JobFinished && j.State() != JobFailed && j.State() != JobCancelled {
			path, err := j.Savepoint(ctx)
			if err != nil {
				if !errors.Is(err, ErrSavepoint) {
					t.Errorf("Savepoint: %v, want an error wrapping ErrSavepoint", err)
					return
				}
				failed++
				awaitNextCheckpoint(j) // the job is restarting, or ending
				continue
			}
			paths = append(paths, path)
		}
	})
	if !fault.fired.Load() || j.Restarts() != 1 {
		t.Fatalf("fault fired %v, restarts %d: want a failure after a checkpoint and one restart", fault.fired.Load(), j.Restarts())
	}
	if len(paths) == 0 {
		t.Fatalf("no savepoint completed (%d failed)", failed)
	}
	for _, path := range paths {
		if cp := checkRestorable(t, path); !cp.Meta.Savepoint {
			t.Errorf("%s is not a savepoint", path)
		}
	}
	t.Logf("%d savepoints complete and restorable, %d failed", len(paths), failed)
}

// awaitNextCheckpoint polls until j completes another checkpoint or ends.
func awaitNextCheckpoint(j *Job) {
	before, _ := j.LatestCheckpoint()
	for {
		select {
		case <-j.Done():
			return
		default:
		}
		if c, _ := j.LatestCheckpoint(); c.ID != before.ID {
			return
		}
		time.Sleep(time.Millisecond) // polling; not a wait for an event
	}
}
