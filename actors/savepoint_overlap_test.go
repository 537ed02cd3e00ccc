package actors

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/persistence"
)

// unboundedCount submits the count pipeline over an endless, rate-limited
// source with checkpoints every interval into store, and waits for its
// first complete checkpoint.
func unboundedCount(t *testing.T, store func(string, string) (CheckpointStore, error), edit func(*Config)) *Job {
	t.Helper()
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Checkpoint.Store = store
		c.BatchSize = 64
		if edit != nil {
			edit(c)
		}
	})
	p, _ := countPipeline(-1, 61, 5000)
	j := submit(t, e, p)
	t.Cleanup(j.Cancel)
	eventually(t, 20*time.Second, func() bool { _, ok := j.LatestCheckpoint(); return ok }, "a complete checkpoint")
	return j
}

// A savepoint overlapping periodic checkpoints: a newer checkpoint gets
// all its acks while the savepoint's metadata is still being committed.
// The savepoint must still complete with every state file it lists (the
// retention of the newer checkpoint must not remove them), its caller
// must get the path, and the two commits must not run at once.
func TestSavepoint_overlapsPeriodicCheckpoint(t *testing.T) {
	for _, name := range []string{"dir", "mem"} {
		t.Run(name, func(t *testing.T) {
			var g *gatedStore
			var store func(string, string) (CheckpointStore, error)
			if name == "dir" {
				g, store = gatedDirStore(t)
			} else {
				g = newGatedStore(t, persistence.NewMemStore("test", 2))
				store = func(string, string) (CheckpointStore, error) { return g, nil }
			}
			g.hold = func(m *persistence.Metadata) bool { return m.Savepoint }
			j := unboundedCount(t, store, nil)
			// A periodic checkpoint older than the savepoint may be the one
			// that waits behind its commit; then no newer one can start
			// (one checkpoint at a time), and the test tries again.
			for try := 1; ; try++ {
				sp, overlap, path := overlappingSavepoint(t, j, g)
				cp, err := g.Open(path)
				if err != nil {
					t.Fatalf("open the savepoint %s: %v", path, err)
				}
				if cp.Meta.ID != sp || !cp.Meta.Savepoint {
					t.Fatalf("savepoint %s holds checkpoint %d (savepoint %v), want savepoint %d", path, cp.Meta.ID, cp.Meta.Savepoint, sp)
				}
				for _, task := range cp.Meta.Tasks {
					if _, err := cp.ReadState(task.Handle); task.Handle != "" && err != nil {
						t.Fatalf("savepoint %d lost the state of %s#%d: %v", sp, task.Vertex, task.Subtask, err)
					}
				}
				if g.commitsOverlapped() {
					t.Fatal("two metadata commits ran at once")
				}
				if overlap > sp {
					return
				}
				if try == 20 {
					t.Fatal("no checkpoint newer than the savepoint overlapped it in 20 tries")
				}
			}
		})
	}
}

// overlappingSavepoint takes a savepoint whose commit g holds until
// another checkpoint has all its acks (its commit done, or waiting for
// the savepoint's), then lets it go on. It returns the savepoint's ID,
// the other checkpoint's, and the savepoint's path.
func overlappingSavepoint(t *testing.T, j *Job, g *gatedStore) (sp, other int64, path string) {
	t.Helper()
	type result struct {
		path string
		err  error
	}
	res := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		path, err := j.Savepoint(ctx)
		res <- result{path, err}
	}()
	sp = <-g.held
	eventually(t, 20*time.Second, func() bool {
		for _, s := range j.checkpointStats() {
			if s.ID != sp && (s.ID > sp && s.Status == barrier.StatusCompleted ||
				s.Status == barrier.StatusWriting && !g.commitStarted(s.ID)) {
				other = s.ID
				return true
			}
		}
		return false
	}, "a checkpoint with all its acks while the savepoint's commit is held")
	g.next()
	r := <-res
	if r.err != nil {
		t.Fatalf("Savepoint %d: %v", sp, r.err)
	}
	return sp, other, r.path
}

// A stop with savepoint whose savepoint fails leaves the job running, as
// in Flink: periodic checkpoints resume, the caller gets the error, and a
// later stop with savepoint works.
func TestSavepoint_failedStopKeepsJobRunning(t *testing.T) {
	g, store := gatedDirStore(t)
	var failed atomic.Bool
	g.fail = func(m *persistence.Metadata) bool { return m.Savepoint && failed.CompareAndSwap(false, true) }
	j := unboundedCount(t, store, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := j.StopWithSavepoint(ctx); !errors.Is(err, ErrSavepoint) || !errors.Is(err, errInjectedCommit) {
		t.Fatalf("StopWithSavepoint with a failing commit: %v, want ErrSavepoint and the commit's error", err)
	}
	before, _ := j.LatestCheckpoint()
	eventually(t, 20*time.Second, func() bool { c, _ := j.LatestCheckpoint(); return c.ID > before.ID },
		"a checkpoint after the failed stop with savepoint")
	if s := j.State(); s != JobRunning {
		t.Fatalf("job %v after a failed stop with savepoint, want running", s)
	}
	path, err := j.StopWithSavepoint(ctx)
	if err != nil {
		t.Fatalf("second StopWithSavepoint: %v", err)
	}
	checkRestorable(t, path)
	if s := j.State(); s != JobCancelled {
		t.Fatalf("job %v after a stop with savepoint, want cancelled", s)
	}
}

// A savepoint pending when the job is cancelled is answered: its metadata
// was being committed, so it is complete and its caller gets the path.
func TestSavepoint_answeredWhenJobCancelled(t *testing.T) {
	g, store := gatedDirStore(t)
	g.hold = func(m *persistence.Metadata) bool { return m.Savepoint }
	j := unboundedCount(t, store, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := make(chan error, 1)
	var path string
	go func() {
		var err error
		path, err = j.Savepoint(ctx)
		res <- err
	}()
	<-g.held
	cancelled := make(chan struct{})
	go func() { j.Cancel(); close(cancelled) }()
	g.next()
	if err := <-res; err != nil {
		t.Fatalf("Savepoint whose commit was under way when the job was cancelled: %v", err)
	}
	checkRestorable(t, path)
	<-cancelled
}
