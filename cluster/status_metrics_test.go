package cluster

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

func statusGraph(t *testing.T) *operators.JobGraph {
	t.Helper()
	p := operators.NewPipeline("g").SetParallelism(2)
	src := operators.FromSlice(p, []int{1}).Name("src").Parallelism(1)
	ks := operators.KeyBy(src, func(v int) int { return v })
	sum := operators.Reduce(ks, func(a, b int) int { return a + b }).Name("sum")
	operators.Discard(sum.Rebalance()).Name("sink")
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestEdgesOf(t *testing.T) {
	g := statusGraph(t)
	got := edgesOf(g)
	want := []EdgeStatus{{From: 0, To: 1, Partitioning: "hash"}, {From: 1, To: 2, Partitioning: "rebalance"}}
	if len(got) != len(want) {
		t.Fatalf("edges %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("edge %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A vertex's metrics add up its subtasks' records and rates, take the
// worst backpressure and busyness and the lowest watermark (none while a
// subtask has none); each subtask
// keeps its own.
func TestFillMetrics(t *testing.T) {
	g := statusGraph(t)
	e := &jobEntry{graph: g}
	vs := vertexShape(e)
	at := time.Unix(100, 0)
	sum := g.Vertices[1]
	samples := []actors.SubtaskSample{
		{SubtaskMetrics: actors.SubtaskMetrics{VertexID: sum.ID, Subtask: 0, RecordsIn: 10, RecordsOut: 5, InputWatermark: 300,
			OutputWatermark: operators.MinWatermark, At: at}, RecordsInPerSecond: 1, BackpressuredRatio: 0.2, BusyRatio: 0.7},
		{SubtaskMetrics: actors.SubtaskMetrics{VertexID: sum.ID, Subtask: 1, RecordsIn: 20, RecordsOut: 7, InputWatermark: 200,
			OutputWatermark: 250, LateRecordsDropped: 3, At: at.Add(time.Second)}, RecordsInPerSecond: 2, BackpressuredRatio: 0.9, BusyRatio: 0.1},
	}
	fillMetrics(vs, samples, map[int]int64{sum.ID: 4096})
	m := vs[1].Metrics
	if m == nil {
		t.Fatal("no metrics on the sum vertex")
	}
	if m.RecordsIn != 30 || m.RecordsOut != 12 || m.RecordsInPerSecond != 3 || m.Backpressured != 0.9 || m.Busy != 0.7 ||
		*m.InputWatermark != 200 || m.OutputWatermark != nil || // subtask 0 has no output watermark yet m.LateRecordsDropped != 3 || m.StateBytes != 4096 ||
		!m.SampledAt.Equal(at.Add(time.Second)) {
		t.Errorf("vertex metrics %+v", m)
	}
	if s := vs[1].Subtasks[0].Metrics; s == nil || s.RecordsIn != 10 || s.OutputWatermark != nil || *s.InputWatermark != 300 {
		t.Errorf("subtask 0 metrics %+v", s)
	}
	if vs[0].Metrics != nil || vs[2].Metrics != nil {
		t.Error("metrics on vertices without samples")
	}
}

func TestCheckpointsStatus(t *testing.T) {
	t0 := time.Unix(100, 0)
	done := actors.CheckpointStats{ID: 2, Status: actors.CheckpointCompleted, Triggered: t0, Duration: 1500 * time.Millisecond,
		Size: 10, Alignment: time.Millisecond, Path: "/p/chk-2"}
	cs := checkpointsStatus(actors.CheckpointSummary{Completed: 1, Failed: 1, InProgress: 1, Latest: &done,
		History: []actors.CheckpointStats{{ID: 1, Status: actors.CheckpointFailed, Failure: "timed out"}, done}})
	if cs.Completed != 1 || cs.Failed != 1 || cs.InProgress != 1 || cs.Latest == nil || cs.Latest.ID != 2 || len(cs.History) != 2 {
		t.Fatalf("status %+v", cs)
	}
	if h := cs.History[1]; h.DurationMs != 1500 || h.AlignmentMs != 1 || h.SizeBytes != 10 || h.Status != "completed" || h.Path != "/p/chk-2" {
		t.Errorf("entry %+v", h)
	}
	if h := cs.History[0]; h.Status != "failed" || h.Failure != "timed out" {
		t.Errorf("entry %+v", h)
	}
}
