package actors

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestEngine_Submit_freshRunEachTime(t *testing.T) {
	e := newTestEngine(t, nil)
	seen := map[string]bool{}
	for range 3 {
		p, _ := countPipeline(10, 3, 0)
		j := submit(t, e, p)
		if err := checkRunID(j.RunID()); err != nil || seen[j.RunID()] {
			t.Fatalf("run id %q (%v); want a valid one, new each time (had %v)", j.RunID(), err, seen)
		}
		seen[j.RunID()] = true
		if err := waitJob(t, j); err != nil {
			t.Fatal(err)
		}
	}
}

// A job submitted with ContinueRun(id) of a cancelled run resumes from
// that run's latest checkpoint, as a restart would: across both jobs
// every (key, count) is committed exactly once.
func TestContinueRun_resumesTheRun(t *testing.T) {
	const n, keys = 16000, 53
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.BatchSize = 64
	})
	p1, sink := rescalePipeline(n, keys, 4, nil)
	j1 := submit(t, e, p1)
	eventually(t, 20*time.Second, func() bool { _, ok := j1.LatestCheckpoint(); return ok }, "a complete checkpoint")
	j1.Cancel()
	if before := len(sink.Values()); before >= n {
		t.Fatalf("the first job committed %d of %d records before it was cancelled: the test would prove nothing", before, n)
	}
	p2, _ := rescalePipeline(n, keys, 4, sink)
	j2 := submit(t, e, p2, ContinueRun(j1.RunID()))
	if err := waitJob(t, j2); err != nil {
		t.Fatal(err)
	}
	if j2.RunID() != j1.RunID() {
		t.Fatalf("run %q continued as %q", j1.RunID(), j2.RunID())
	}
	checkCounts(t, sink.Values(), n, keys)
}

func TestContinueRun_rejectsBadAndRunningRuns(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Checkpoint.Interval = time.Hour })
	p, _ := countPipeline(1<<40, 3, 1000) // runs until cancelled
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"..", "a/b", "run 1", string(make([]byte, maxRunIDLen+1))} {
		if _, err := e.Submit(g, ContinueRun(id)); !errors.Is(err, ErrConfig) {
			t.Errorf("ContinueRun(%q): %v; want ErrConfig", id, err)
		}
	}
	j, err := e.Submit(g, ContinueRun("run-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Cancel()
	if _, err := e.Submit(g, ContinueRun("run-1")); !errors.Is(err, ErrDuplicateRun) {
		t.Fatalf("a second job of running run-1: %v; want ErrDuplicateRun", err)
	}
	j.Cancel()
	j2, err := e.Submit(g, ContinueRun("run-1"))
	if err != nil {
		t.Fatalf("run-1 after its job ended: %v", err)
	}
	j2.Cancel()
}

// A new run started from another run's savepoint numbers its checkpoints
// on from the savepoint's ID, as Flink does: IDs name sink transactions,
// which the two runs must not share.
func TestRestoreFrom_newRunNumbersOnFromTheSavepoint(t *testing.T) {
	const n, keys = 16000, 53
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.BatchSize = 64
	})
	p1, sink := rescalePipeline(n, keys, 2, nil)
	j1 := submit(t, e, p1)
	eventually(t, 20*time.Second, func() bool { _, ok := j1.LatestCheckpoint(); return ok }, "a complete checkpoint")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path, err := j1.StopWithSavepoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := j1.LatestCheckpoint()
	p2, _ := rescalePipeline(n, keys, 2, sink)
	j2 := submit(t, e, p2, RestoreFrom(path))
	eventually(t, 20*time.Second, func() bool { _, ok := j2.LatestCheckpoint(); return ok }, "a checkpoint of the new run")
	if c, _ := j2.LatestCheckpoint(); c.ID <= sp.ID || j2.RunID() == j1.RunID() {
		t.Fatalf("run %s from savepoint %d of run %s took checkpoint %d; want a new run numbering above the savepoint",
			j2.RunID(), sp.ID, j1.RunID(), c.ID)
	}
	if err := waitJob(t, j2); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, sink.Values(), n, keys)
}
