package actors

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/persistence"
)

// A checkpoint whose metadata commit outlasts Checkpoint.Timeout: once
// the commit has started, only its outcome decides the checkpoint (as in
// Flink, durable metadata is a complete checkpoint). It must not be
// aborted and discarded meanwhile, which left a directory with metadata
// and no state, counted as complete.
func TestCheckpoint_timeoutDuringMetadataCommit(t *testing.T) {
	g, store := gatedDirStore(t)
	var once atomic.Bool
	g.hold = func(m *persistence.Metadata) bool { return !m.Savepoint && once.CompareAndSwap(false, true) }
	// A second is long enough for checkpoints to complete on a loaded
	// machine (at 100 ms every one timed out under a full CI run) and short
	// enough for the wait below.
	const timeout = time.Second
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval, c.Checkpoint.Timeout = 10*time.Millisecond, timeout
		c.Checkpoint.TolerableFailures = 1 << 20 // other checkpoints may time out on a loaded machine
		c.Checkpoint.Store = store
		c.BatchSize = 64
	})
	p, _ := countPipeline(-1, 61, 5000)
	j := submit(t, e, p)
	defer j.Cancel()
	var id int64
	select {
	case id = <-g.held:
	case <-time.After(time.Minute):
		// On a badly loaded machine every checkpoint may still time
		// out. Fail, not hang.
		t.Fatalf("no checkpoint reached its metadata commit within a minute: %+v", j.checkpointStats())
	}
	// Give the coordinator its timeout and many ticks (a quarter of the
	// timeout each) to abort the checkpoint; a discard ends the wait early.
	until := time.Now().Add(timeout + 20*timeout/4)
	eventually(t, time.Minute, func() bool { return g.wasDiscarded(id) || time.Now().After(until) },
		"the checkpoint's timeout to pass")
	g.open()
	eventually(t, 20*time.Second, func() bool { c, _ := j.LatestCheckpoint(); return c.ID >= id },
		"the checkpoint whose commit was slow, or a newer one, to complete")
	if g.wasDiscarded(id) {
		t.Errorf("checkpoint %d was discarded while its metadata was being committed", id)
	}
	g.mu.Lock()
	path := g.committed[id]
	g.mu.Unlock()
	checkRestorable(t, path)
}
