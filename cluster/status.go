package cluster

import "github.com/troupe-dev/troupe/actors"

// statusLocked is what the API shows of e; the service's mu is held.
func (s *jobService) statusLocked(e *jobEntry) JobStatus {
	st := JobStatus{ID: e.id, Pipeline: e.req.Pipeline, Params: e.req.Params, Parallelism: slotsOf(e.graph),
		Submitted: e.submitted, Ended: e.ended, Vertices: vertexShape(e), Edges: edgesOf(e.graph), Owner: s.self}
	switch {
	case e.startErr != nil:
		st.State, st.Failure = StateFailed, e.startErr.Error()
	case e.cancelled:
		st.State = StateCancelled
	case e.job == nil:
		st.State = StateWaitingForSlots
	default:
		jobStatus(&st, e)
	}
	st.Restarts += e.priorRestarts
	if st.Failure == "" {
		st.Failure = e.takeoverCause
	}
	return st
}

// jobStatus fills in what the running (or ended) job says of itself.
func jobStatus(st *JobStatus, e *jobEntry) {
	j := e.job
	state := j.State()
	st.State = state.String()
	switch {
	case state == actors.JobCreated:
		st.State = StateRunning // deploying
	case state == actors.JobCancelled && e.stoppedWithSavepoint:
		st.State = StateFinished
	}
	st.Restarts = j.Restarts()
	st.RunningSince = j.RunningSince()
	if err := j.Failure(); err != nil {
		st.Failure = err.Error()
	}
	if cp, ok := j.LatestCheckpoint(); ok {
		st.LatestCheckpoint = &CheckpointInfo{ID: cp.ID, Path: cp.Path}
	}
	placed := j.Placement() // the latest attempt's, also once the job ended
	for i := range st.Vertices {
		if i < len(placed) {
			fillNodes(&st.Vertices[i], placed[i].Nodes)
		}
	}
	jobViews(st, j)
}

func fillNodes(v *VertexStatus, nodes []string) {
	for i := range v.Subtasks {
		if i < len(nodes) {
			v.Subtasks[i].Node = nodes[i]
		}
	}
}

// vertexShape lists the job's vertices with their subtasks, nodes not yet
// known.
func vertexShape(e *jobEntry) []VertexStatus {
	out := make([]VertexStatus, 0, len(e.graph.Vertices))
	for _, v := range e.graph.Vertices {
		vs := VertexStatus{ID: v.ID, Name: v.Name, Parallelism: v.Parallelism}
		for i := range v.Parallelism {
			vs.Subtasks = append(vs.Subtasks, SubtaskStatus{Index: i})
		}
		out = append(out, vs)
	}
	return out
}
