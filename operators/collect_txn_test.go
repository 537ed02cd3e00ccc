package operators

import (
	"slices"
	"testing"
)

// openTxnCollect opens subtask i of a collecting sink of a job that takes
// checkpoints, committing into c's store.
func openTxnCollect(t *testing.T, c *Collected[string], subtask int) *txnCollectWriter[string] {
	t.Helper()
	w, ok := newCollectWriter(c, &TaskContext{TaskInfo: TaskInfo{Job: "collect", Operator: "sink", Subtask: subtask, Parallelism: 2},
		Checkpointing: true}).(*txnCollectWriter[string])
	if !ok {
		t.Fatal("a checkpointing job's collecting sink is not two-phase")
	}
	return w
}

func write(t *testing.T, w SinkWriter[string], vs ...string) {
	t.Helper()
	for _, v := range vs {
		if err := w.Write(v, NoTimestamp); err != nil {
			t.Fatal(err)
		}
	}
}

// A sink subtask whose input ended before a savepoint holds its last
// epoch for the end of the job; the job resumed from the savepoint
// commits it on restore. The resumed job's sink subtask of the same index
// ends its own input too: its last epoch is another transaction, and must
// be committed as well, not taken for the restored one (both end "at the
// end of the job"). TestFromJetStream_savepointRescale lost the tail of a
// subject so, whenever a source subtask finished before the savepoint.
func TestCollect_lastEpochsOfTwoJobsBothCommitted(t *testing.T) {
	c := Collect(FromSlice(NewPipeline("collect"), []string{}))

	w1 := openTxnCollect(t, c, 1)
	write(t, w1, "b1", "b2")
	if err := w1.EndInput(); err != nil { // the first job's subtask 1 finished
		t.Fatal(err)
	}
	snap, err := w1.SnapshotState(8) // the savepoint; then the job stops
	if err != nil {
		t.Fatal(err)
	}
	if err := w1.NotifyCheckpointComplete(8); err != nil {
		t.Fatal(err)
	}
	if got := c.Values(); len(got) != 0 {
		t.Fatalf("the last epoch was committed before the end of the job: %q", got)
	}

	w2 := openTxnCollect(t, c, 1) // the resumed job
	if err := w2.RestoreState([]*OperatorState{snap}); err != nil {
		t.Fatal(err)
	}
	write(t, w2, "c1", "c2")
	if err := w2.EndInput(); err != nil {
		t.Fatal(err)
	}
	if err := w2.NotifyCheckpointComplete(EndOfJob); err != nil {
		t.Fatal(err)
	}
	want := []string{"b1", "b2", "c1", "c2"}
	if got := sorted(c.Values()); !slices.Equal(got, want) {
		t.Fatalf("committed %q, want %q once each", got, want)
	}
	// Resumed from the savepoint again: its transaction was committed.
	if err := openTxnCollect(t, c, 0).RestoreState([]*OperatorState{snap}); err != nil {
		t.Fatal(err)
	}
	if got := sorted(c.Values()); !slices.Equal(got, want) {
		t.Fatalf("after a second restore of the savepoint: committed %q, want %q once each", got, want)
	}
}
