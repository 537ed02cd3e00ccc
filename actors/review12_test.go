package actors

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/persistence"
)

// checkpointEnded reports whether checkpoint id has ended (completed or
// aborted) in j's coordinator, and its stats.
func checkpointEnded(j *Job, id int64) (barrier.Stats, bool) {
	for _, s := range j.checkpointStats() {
		if s.ID == id && !s.Ended.IsZero() {
			return s, true
		}
	}
	return barrier.Stats{}, false
}

// Review 12, finding: GuardCommits is asked once, before CommitMetadata,
// and never again. A commit that takes longer than the lease's margin (a
// NATS store retries a commit for up to its Timeout, 30 s by default; a
// process frozen between the guard and the write) lands after the lease
// has run out and another node has taken the job over — and the stale
// master then completes the checkpoint and tells its sinks to commit it.
// DESIGN.md: "a stale master can neither complete a checkpoint nor make a
// sink commit".
func TestReview12_leaseLostDuringMetadataCommitStillCompletes(t *testing.T) {
	const n, keys = 8000, 13
	var owned atomic.Bool
	owned.Store(true)
	errLost := errors.New("lease lost")
	guard := func() error {
		if !owned.Load() {
			return errLost
		}
		return nil
	}
	g, store := gatedDirStore(t)
	var first atomic.Bool
	g.hold = func(*persistence.Metadata) bool { return first.CompareAndSwap(false, true) }
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Checkpoint.TolerableFailures = 1 << 20
		c.Checkpoint.Store = store
	})
	p, sink := countPipeline(n, keys, 2000)
	j := submit(t, e, p, GuardCommits(guard))
	defer j.Cancel()
	var id int64
	select {
	case id = <-g.held:
	case <-time.After(20 * time.Second):
		t.Fatal("no metadata commit began")
	}
	// The guard said yes; while the commit is in flight the lease runs out
	// and another node takes the job over.
	owned.Store(false)
	g.next()
	eventually(t, 20*time.Second, func() bool { _, ok := checkpointEnded(j, id); return ok },
		"the held checkpoint to end")
	st, _ := checkpointEnded(j, id)
	cp, completed := j.LatestCheckpoint()
	if !completed {
		return // as it should be: nothing completed, nothing committed
	}
	// The stale master told its sinks to commit: wait for the commit to show.
	deadline := time.Now().Add(10 * time.Second)
	for len(sink.Values()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("checkpoint %d (status %v) completed (latest %s) and the sink committed %d records, "+
		"although the lease was lost before its metadata commit returned", id, st.Status, cp.Path, len(sink.Values()))
}
