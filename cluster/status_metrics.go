package cluster

import (
	"slices"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// What the job's master knows of it beside its state, for the REST API
// and the dashboard: its subtasks' samples (from every node), checkpoint
// history, exceptions and uptime.

// jobViews fills in the master's views of a started job.
func jobViews(st *JobStatus, j *actors.Job) {
	st.UptimeSeconds = j.Uptime().Seconds()
	ck := j.Checkpoints()
	if j.Checkpointing() {
		st.Checkpoints = checkpointsStatus(ck) // else none: the dashboard says they are off
	}
	for _, x := range j.Exceptions() {
		es := ExceptionStatus{Time: x.Time, Attempt: x.Attempt, Vertex: x.Vertex, Node: x.Node, Error: x.Error}
		if x.Vertex != "" {
			es.Subtask = &x.Subtask
		}
		st.Exceptions = append(st.Exceptions, es)
	}
	fillMetrics(st.Vertices, j.Metrics(), ck.StateSizes)
}

func checkpointsStatus(ck actors.CheckpointSummary) *CheckpointsStatus {
	cs := &CheckpointsStatus{Completed: ck.Completed, Failed: ck.Failed, InProgress: ck.InProgress,
		History: make([]CheckpointEntry, 0, len(ck.History))}
	if ck.Latest != nil {
		l := checkpointEntry(*ck.Latest)
		cs.Latest = &l
	}
	for _, h := range ck.History {
		cs.History = append(cs.History, checkpointEntry(h))
	}
	return cs
}

func checkpointEntry(c actors.CheckpointStats) CheckpointEntry {
	return CheckpointEntry{ID: c.ID, Savepoint: c.Savepoint, Status: string(c.Status), Triggered: c.Triggered,
		DurationMs: ms(c.Duration.Seconds()), SizeBytes: c.Size, AlignmentMs: ms(c.Alignment.Seconds()), Path: c.Path,
		Failure: c.Failure, Unaligned: c.Unaligned, InFlightBytes: c.InFlight}
}

func ms(seconds float64) float64 { return seconds * 1000 }

// fillMetrics puts each sample on its subtask and sums them up per
// vertex; stateBytes, by vertex ID, come from the latest checkpoint.
func fillMetrics(vs []VertexStatus, samples []actors.SubtaskSample, stateBytes map[int]int64) {
	for i := range vs {
		v := &vs[i]
		// The vertex's watermarks are its subtasks' lowest, as Flink's
		// web UI shows them: a subtask without one yet (MinWatermark)
		// leaves the vertex without one; one whose input ended
		// (MaxWatermark) holds nothing back.
		lowIn, lowOut := operators.MaxWatermark, operators.MaxWatermark
		for _, s := range samples {
			if s.VertexID != v.ID || s.Subtask < 0 || s.Subtask >= len(v.Subtasks) {
				continue
			}
			v.Subtasks[s.Subtask].Metrics = subtaskMetrics(s)
			v.Metrics = addSample(v.Metrics, s)
			lowIn, lowOut = min(lowIn, s.InputWatermark), min(lowOut, s.OutputWatermark)
		}
		if v.Metrics != nil {
			v.Metrics.StateBytes = stateBytes[v.ID]
			v.Metrics.InputWatermark, v.Metrics.OutputWatermark = watermark(lowIn), watermark(lowOut)
		}
	}
}

func subtaskMetrics(s actors.SubtaskSample) *SubtaskMetrics {
	return &SubtaskMetrics{RecordsIn: s.RecordsIn, RecordsOut: s.RecordsOut, RecordsInPerSecond: s.RecordsInPerSecond,
		RecordsOutPerSecond: s.RecordsOutPerSecond, Busy: s.BusyRatio, Idle: s.IdleRatio, Backpressured: s.BackpressuredRatio,
		InputWatermark: watermark(s.InputWatermark), OutputWatermark: watermark(s.OutputWatermark), MailboxLen: s.MailboxLen}
}

// addSample adds a subtask's sample to its vertex's (nil: the first);
// fillMetrics sets the vertex's watermarks.
func addSample(vm *VertexMetrics, s actors.SubtaskSample) *VertexMetrics {
	if vm == nil {
		vm = &VertexMetrics{}
	}
	vm.RecordsIn += s.RecordsIn
	vm.RecordsOut += s.RecordsOut
	vm.RecordsInPerSecond += s.RecordsInPerSecond
	vm.RecordsOutPerSecond += s.RecordsOutPerSecond
	vm.Busy = max(vm.Busy, s.BusyRatio)
	vm.Backpressured = max(vm.Backpressured, s.BackpressuredRatio)
	vm.LateRecordsDropped += s.LateRecordsDropped
	if s.At.After(vm.SampledAt) {
		vm.SampledAt = s.At
	}
	return vm
}

// watermark is wm, or nil when there is none (before the first, or after
// the end of input).
func watermark(wm int64) *int64 {
	if wm == operators.MinWatermark || wm == operators.MaxWatermark {
		return nil
	}
	return &wm
}

// edgesOf lists a graph's edges by the indexes of their vertices.
func edgesOf(g *operators.JobGraph) []EdgeStatus {
	var out []EdgeStatus
	for to, v := range g.Vertices {
		for _, e := range v.Inputs {
			out = append(out, EdgeStatus{From: slices.Index(g.Vertices, e.From), To: to,
				Partitioning: e.Partitioning.String(), SideOutput: e.Tag})
		}
	}
	return out
}
