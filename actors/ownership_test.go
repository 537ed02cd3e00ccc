package actors

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// faultOnceAfterCheckpoint panics in op once, in whatever attempt, at a
// record after the job's first complete checkpoint.
type faultOnceAfterCheckpoint struct {
	job   atomic.Pointer[Job]
	op    string
	fired atomic.Bool
}

func (f *faultOnceAfterCheckpoint) BeforeRecord(op operators.TaskInfo) {
	if op.Operator != f.op || f.fired.Load() {
		return
	}
	if j := f.job.Load(); j != nil {
		if _, ok := j.LatestCheckpoint(); ok && f.fired.CompareAndSwap(false, true) {
			panic(fmt.Sprintf("injected fault in %s subtask %d attempt %d", op.Operator, op.Subtask, op.Attempt))
		}
	}
}

// A job whose first attempt is numbered by FirstAttempt restarts as the
// next number, restores its checkpoint as any restart does, and commits
// exactly once.
func TestFirstAttempt_numbersTheAttempts(t *testing.T) {
	const n, keys, first = 6000, 13, 1<<16 + 1
	var restarts restartLog
	fault := &faultOnceAfterCheckpoint{op: "count"}
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Restart = FixedDelay(1, time.Millisecond)
		c.Faults = fault
		c.OnRestart = restarts.add
	})
	p, sink := countPipeline(n, keys, 4000)
	j := submit(t, e, p, FirstAttempt(first))
	fault.job.Store(j)
	if err := waitJob(t, j); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, sink.Values(), n, keys)
	got := restarts.get()
	if len(got) != 1 || got[0].Attempt != first+1 || got[0].Checkpoint < 1 {
		t.Fatalf("restarts %+v; want one, attempt %d, from a checkpoint", got, first+1)
	}
	if j.Restarts() != 1 {
		t.Fatalf("Restarts() = %d, want 1", j.Restarts())
	}
}

func TestFirstAttempt_outOfRange(t *testing.T) {
	e := newTestEngine(t, nil)
	p, _ := countPipeline(10, 3, 0)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, -1, maxFirstAttempt + 1} {
		if _, err := e.Submit(g, FirstAttempt(n)); !errors.Is(err, ErrConfig) {
			t.Errorf("FirstAttempt(%d): %v; want ErrConfig", n, err)
		}
	}
}

// While the guard refuses, no checkpoint completes and the sink commits
// nothing; once it allows, the job completes checkpoints and commits
// every record exactly once.
func TestGuardCommits_refusedCheckpointCompletesNothing(t *testing.T) {
	const n, keys = 8000, 13
	var owned atomic.Bool
	var asked atomic.Int64
	errLost := errors.New("lease lost")
	guard := func() error {
		asked.Add(1)
		if !owned.Load() {
			return errLost
		}
		return nil
	}
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Checkpoint.TolerableFailures = 1 << 20
	})
	p, sink := countPipeline(n, keys, 2000)
	j := submit(t, e, p, GuardCommits(guard))
	eventually(t, 20*time.Second, func() bool { return asked.Load() >= 5 }, "five commits refused")
	if cp, ok := j.LatestCheckpoint(); ok {
		t.Fatalf("checkpoint %d completed while the guard refused", cp.ID)
	}
	if got := len(sink.Values()); got != 0 {
		t.Fatalf("the sink committed %d records while the guard refused every checkpoint", got)
	}
	owned.Store(true)
	eventually(t, 20*time.Second, func() bool { _, ok := j.LatestCheckpoint(); return ok }, "a checkpoint once the guard allows")
	if err := waitJob(t, j); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, sink.Values(), n, keys)
}
