package cluster

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
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

// Finding: a vertex's watermark (the dashboard's, and GET /v1/jobs/{id}'s)
// is its subtasks' lowest, but a subtask without a watermark yet was left
// out rather than holding it back: with one subtask at 10:00 and another
// that has seen no watermark, the vertex showed 10:00 and a small lag,
// while downstream event time cannot pass the subtask that has none.
// Flink's web UI shows the minimum over every subtask, "No Watermark"
// when one has none. A subtask whose input ended (the end-of-time
// watermark) does not hold a vertex back.
func TestReview14_vertexWatermarkIsHeldBackByASubtaskWithout(t *testing.T) {
	g := statusGraph(t)
	sum := g.Vertices[1]
	at := time.Unix(100, 0)
	sample := func(subtask int, in, out int64) actors.SubtaskSample {
		return actors.SubtaskSample{SubtaskMetrics: actors.SubtaskMetrics{VertexID: sum.ID, Subtask: subtask,
			InputWatermark: in, OutputWatermark: out, At: at}}
	}
	tests := []struct {
		name    string
		samples []actors.SubtaskSample
		in, out *int64 // want
	}{
		{"one subtask has none", []actors.SubtaskSample{sample(0, 300, 250), sample(1, operators.MinWatermark, operators.MinWatermark)}, nil, nil},
		{"one subtask's input ended", []actors.SubtaskSample{sample(0, operators.MaxWatermark, operators.MaxWatermark), sample(1, 200, 150)}, ptr(200), ptr(150)},
		{"both have one", []actors.SubtaskSample{sample(0, 300, 250), sample(1, 200, 260)}, ptr(200), ptr(250)},
		{"both ended", []actors.SubtaskSample{sample(0, operators.MaxWatermark, operators.MaxWatermark), sample(1, operators.MaxWatermark, operators.MaxWatermark)}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := vertexShape(&jobEntry{graph: g})
			fillMetrics(vs, tt.samples, nil)
			m := vs[1].Metrics
			if show(m.InputWatermark) != show(tt.in) || show(m.OutputWatermark) != show(tt.out) {
				t.Errorf("vertex watermarks in %s, out %s; want in %s, out %s",
					show(m.InputWatermark), show(m.OutputWatermark), show(tt.in), show(tt.out))
			}
		})
	}
}

func ptr(v int64) *int64 { return &v }

func show(p *int64) string {
	if p == nil {
		return "none"
	}
	return strconv.FormatInt(*p, 10)
}
