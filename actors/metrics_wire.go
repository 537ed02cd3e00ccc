package actors

import (
	"time"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
)

// wireMetrics encodes the sample of subtask id for the master.
func wireMetrics(id int, m SubtaskMetrics) *wire.SubtaskMetrics {
	w := &wire.SubtaskMetrics{Subtask: int32(id), Node: m.Node,
		StartedUnixNanos: m.Started.UnixNano(), AtUnixNanos: m.At.UnixNano(),
		RecordsIn: m.RecordsIn, RecordsOut: m.RecordsOut, BatchesIn: m.BatchesIn, BatchesOut: m.BatchesOut,
		RemoteBytesIn: m.RemoteBytesIn, RemoteBytesOut: m.RemoteBytesOut,
		SourceRecords: m.SourceRecords, SinkRecords: m.SinkRecords, LateRecordsDropped: m.LateRecordsDropped,
		MailboxLen: m.MailboxLen, OutputQueued: m.OutputQueued, OutputQueuedMax: m.OutputQueuedMax, BusyNanos: int64(m.Busy), IdleNanos: int64(m.Idle), BackpressuredNanos: int64(m.Backpressured),
		InputWatermark: m.InputWatermark, OutputWatermark: m.OutputWatermark}
	for _, a := range m.Async {
		w.Async = append(w.Async, &wire.AsyncMetrics{Operator: a.Operator, Calls: a.Calls, Completed: a.Completed,
			Retries: a.Retries, Timeouts: a.Timeouts, Failures: a.Failures, Late: a.Late, InFlight: a.InFlight,
			LatencyCounts: a.Latency.Counts[:], LatencyCount: a.Latency.Count, LatencySumNanos: int64(a.Latency.Sum)})
	}
	return w
}

// metricsFrom decodes a sample of the subtask ref of attempt; what the
// master knows of the subtask (job, vertex, index, source or sink) is
// its own, not the message's.
func metricsFrom(w *wire.SubtaskMetrics, job, run string, attempt int, ref *subtaskRef) SubtaskMetrics {
	m := SubtaskMetrics{Job: job, Run: run, Vertex: ref.vertex.Name, VertexID: ref.vertex.ID, Subtask: ref.index,
		Attempt: attempt, Node: w.Node, Started: time.Unix(0, w.StartedUnixNanos), At: time.Unix(0, w.AtUnixNanos),
		RecordsIn: w.RecordsIn, RecordsOut: w.RecordsOut, BatchesIn: w.BatchesIn, BatchesOut: w.BatchesOut,
		RemoteBytesIn: w.RemoteBytesIn, RemoteBytesOut: w.RemoteBytesOut,
		Source: ref.vertex.IsSource(), Sink: ref.vertex.IsSink(),
		SourceRecords: w.SourceRecords, SinkRecords: w.SinkRecords, LateRecordsDropped: w.LateRecordsDropped,
		MailboxLen: w.MailboxLen, OutputQueued: w.OutputQueued, OutputQueuedMax: w.OutputQueuedMax, Busy: time.Duration(w.BusyNanos), Idle: time.Duration(w.IdleNanos),
		Backpressured: time.Duration(w.BackpressuredNanos), InputWatermark: w.InputWatermark, OutputWatermark: w.OutputWatermark}
	for _, a := range w.Async {
		st := operators.AsyncStats{Calls: a.Calls, Completed: a.Completed, Retries: a.Retries, Timeouts: a.Timeouts,
			Failures: a.Failures, Late: a.Late, InFlight: a.InFlight}
		copy(st.Latency.Counts[:], a.LatencyCounts) // a foreign length cannot overflow
		st.Latency.Count, st.Latency.Sum = a.LatencyCount, time.Duration(a.LatencySumNanos)
		m.Async = append(m.Async, AsyncMetrics{Operator: a.Operator, AsyncStats: st})
	}
	return m
}
