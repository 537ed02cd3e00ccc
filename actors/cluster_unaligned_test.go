package actors

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Unaligned checkpoints across nodes: the keyed count at parallelism 4 on
// three nodes, its counter much slower than its source, so that the keyBy
// exchange — over the network between nodes — is backpressured. Priority
// barriers cross the network ahead of the batches waiting for credit, the
// in-flight data of remote channels is stored (every node writes its
// subtasks' channel state to the shared store), and a failure on a remote
// node restarts from an unaligned checkpoint: every record is counted
// exactly once.
func TestCluster_unalignedAcrossNodes_restoresInFlight(t *testing.T) {
	c := startCluster(t, "n1", "n2")
	const n, keys = 20_000, 61
	out := t.TempDir()
	j := c.submit(t, JobSpec{Pipeline: "keyed-count", Parallelism: 4,
		Params: map[string]string{"n": fmt.Sprint(n), "keys": fmt.Sprint(keys), "out": out, "fail-at": "8001",
			"work": "10000"},
		Checkpoint: &CheckpointConfig{Interval: 20 * time.Millisecond, Unaligned: true},
		Restart:    FixedDelay(2, 10*time.Millisecond)},
		WithPlacer(c.placer("coord", "n1", "n2")))
	if err := waitEnd(t, j); err != nil {
		t.Fatal(err)
	}
	if got := j.Placement()[1].Nodes; strings.Join(got, ",") != "coord,n1,n2,coord" {
		t.Fatalf("count's subtasks on %v, want coord,n1,n2,coord", got)
	}
	if j.Restarts() != 1 {
		t.Fatalf("%d restarts (cause %v), want 1", j.Restarts(), j.Failure())
	}
	checkCounted(t, readCounted(t, out), n, keys)
	var unaligned int
	var inflight int64
	for _, s := range j.Checkpoints().History {
		if s.Status == CheckpointCompleted && s.Unaligned {
			unaligned++
			inflight += s.InFlight
		}
	}
	if unaligned == 0 || inflight == 0 {
		t.Fatalf("%d unaligned checkpoints, %d bytes in flight: the exchange was not backpressured, or its barriers aligned", unaligned, inflight)
	}
	t.Logf("%d unaligned checkpoints completed, %d bytes of records in flight stored", unaligned, inflight)
	// From the job's checkpoint statistics, not the files: the store keeps
	// the newest 3, so by the job's end the one restored may be gone.
	if s := restoredBefore(t, j); s.InFlight == 0 {
		t.Fatalf("the restart restored %s, which holds no in-flight data: its replay was not exercised", s.Path)
	}
	waitTaskManagersEmpty(t, c.taskManagers()...)
}

// restoredBefore returns the statistics of the checkpoint j's first
// restart restored: the newest completed before the failure.
func restoredBefore(t *testing.T, j *Job) CheckpointStats {
	t.Helper()
	ex := j.Exceptions()
	if len(ex) == 0 {
		t.Fatal("no failure recorded")
	}
	var restored CheckpointStats
	for _, s := range j.Checkpoints().History {
		if s.Status == CheckpointCompleted && s.Triggered.Add(s.Duration).Before(ex[0].Time) && s.ID > restored.ID {
			restored = s
		}
	}
	if restored.ID == 0 {
		t.Fatal("no checkpoint completed before the failure")
	}
	return restored
}
