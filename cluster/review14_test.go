package cluster

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Review 14: tests of what the REST API and the dashboard show of jobs,
// each failing on a defect it names.

// Finding: a savepoint of a job submitted without checkpointInterval can
// never be taken (the job has no checkpoint coordinator), yet the service
// answered with the engine's bare "actors: savepoint failed", which the
// REST API turns into a 500 — an error of the node, logged as one —
// instead of telling the client what is wrong with its request. And the
// job's status carried empty checkpoint counts, so the dashboard showed
// an empty history and offered its Savepoint button for that job.
func TestReview14_savepointOfAJobWithoutCheckpoints(t *testing.T) {
	n := startReview12Node(t, "r14", newFlakyStore(t))
	id, err := n.Submit(context.Background(), JobRequest{Pipeline: "review12", Params: map[string]string{"count": "-1", "rate": "100"}})
	if err != nil {
		t.Fatal(err)
	}
	review12Poll(t, 30*time.Second, "the job running", func() bool {
		st, err := n.Job(context.Background(), id)
		return err == nil && st.State == StateRunning
	})
	_, err = n.Savepoint(context.Background(), id, false)
	if !errors.Is(err, ErrBadRequest) {
		t.Errorf("savepoint of a job without checkpoints: %v, want an ErrBadRequest (400) saying the job has no checkpoints", err)
	}
	st, err := n.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Checkpoints != nil {
		t.Errorf("the status of a job without checkpoints has checkpoints %+v, want none (the dashboard says they are off)", *st.Checkpoints)
	}
}
