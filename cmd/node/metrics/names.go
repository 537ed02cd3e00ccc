package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// The metrics, one line each; docs/metrics.md lists them (a test keeps
// the two in step).

type sample = actors.SubtaskMetrics

// subtaskMetrics are exported for every subtask running on the node.
var subtaskMetrics = []*metric[sample]{
	counter(subtaskLabels, "troupe_subtask_records_in_total", "Records the subtask took from its input channels.",
		func(s sample) float64 { return float64(s.RecordsIn) }),
	counter(subtaskLabels, "troupe_subtask_records_out_total", "Records the subtask shipped to its output channels.",
		func(s sample) float64 { return float64(s.RecordsOut) }),
	counter(subtaskLabels, "troupe_subtask_batches_in_total", "Batches of records the subtask took from its input channels.",
		func(s sample) float64 { return float64(s.BatchesIn) }),
	counter(subtaskLabels, "troupe_subtask_batches_out_total", "Batches of records the subtask shipped to its output channels.",
		func(s sample) float64 { return float64(s.BatchesOut) }),
	counter(subtaskLabels, "troupe_subtask_remote_received_bytes_total", "Encoded record bytes received from subtasks on other nodes.",
		func(s sample) float64 { return float64(s.RemoteBytesIn) }),
	counter(subtaskLabels, "troupe_subtask_remote_sent_bytes_total", "Encoded record bytes sent to subtasks on other nodes.",
		func(s sample) float64 { return float64(s.RemoteBytesOut) }),
	{desc: prometheus.NewDesc("troupe_source_records_read_total", "Records the subtask's source read (subtasks that begin with a source).", subtaskLabels, nil),
		kind: prometheus.CounterValue, value: func(s sample) (float64, bool) { return float64(s.SourceRecords), s.Source }},
	{desc: prometheus.NewDesc("troupe_sink_records_written_total", "Records the subtask's sink wrote (subtasks that end with a sink).", subtaskLabels, nil),
		kind: prometheus.CounterValue, value: func(s sample) (float64, bool) { return float64(s.SinkRecords), s.Sink }},
	counter(subtaskLabels, "troupe_subtask_late_records_dropped_total", "Records too late for every window, or below an interval join's watermark, that no late side output took.",
		func(s sample) float64 { return float64(s.LateRecordsDropped) }),
	gauge(subtaskLabels, "troupe_subtask_mailbox_messages", "Messages waiting in the subtask's mailbox.",
		func(s sample) float64 { return float64(s.MailboxLen) }),
	gauge(subtaskLabels, "troupe_subtask_output_queued_records", "Records the subtask shipped that wait for credit from downstream.",
		func(s sample) float64 { return float64(s.OutputQueued) }),
	gauge(subtaskLabels, "troupe_subtask_output_queued_records_max", "The most records of the subtask that ever waited for credit at once.",
		func(s sample) float64 { return float64(s.OutputQueuedMax) }),
	counter(subtaskLabels, "troupe_subtask_busy_seconds_total", "Time the subtask worked (neither idle nor backpressured).",
		func(s sample) float64 { return s.Busy.Seconds() }),
	counter(subtaskLabels, "troupe_subtask_idle_seconds_total", "Time the subtask waited for input.",
		func(s sample) float64 { return s.Idle.Seconds() }),
	counter(subtaskLabels, "troupe_subtask_backpressured_seconds_total", "Time the subtask's output waited for credit from downstream.",
		func(s sample) float64 { return s.Backpressured.Seconds() }),
	gaugeIf(subtaskLabels, "troupe_subtask_input_watermark_seconds", "The subtask's input watermark, as Unix time (absent before the first watermark and after the last).",
		func(s sample) (float64, bool) { return watermarkSeconds(s.InputWatermark) }),
	gaugeIf(subtaskLabels, "troupe_subtask_output_watermark_seconds", "The last watermark the subtask emitted, as Unix time.",
		func(s sample) (float64, bool) { return watermarkSeconds(s.OutputWatermark) }),
	gaugeIf(subtaskLabels, "troupe_subtask_watermark_lag_seconds", "How far the subtask's event time is behind the clock: sample time minus the input watermark (the output watermark for a source).",
		func(s sample) (float64, bool) { lag, ok := s.WatermarkLag(); return lag.Seconds(), ok }),
}

type asyncStats = operators.AsyncStats

// asyncMetrics are exported for every async I/O operator of a subtask.
var asyncMetrics = []*metric[asyncStats]{
	gauge(asyncLabels, "troupe_async_in_flight", "Records waiting for their async results (at most the capacity).",
		func(a asyncStats) float64 { return float64(a.InFlight) }),
	counter(asyncLabels, "troupe_async_calls_total", "Async calls started, retries included.",
		func(a asyncStats) float64 { return float64(a.Calls) }),
	counter(asyncLabels, "troupe_async_completed_total", "Records completed by a result or a timeout handler.",
		func(a asyncStats) float64 { return float64(a.Completed) }),
	counter(asyncLabels, "troupe_async_retries_total", "Async attempts retried.",
		func(a asyncStats) float64 { return float64(a.Retries) }),
	counter(asyncLabels, "troupe_async_timeouts_total", "Async calls that timed out.",
		func(a asyncStats) float64 { return float64(a.Timeouts) }),
	counter(asyncLabels, "troupe_async_failures_total", "Async calls that failed for good.",
		func(a asyncStats) float64 { return float64(a.Failures) }),
	counter(asyncLabels, "troupe_async_late_replies_total", "Replies that came after their record was given up (timed out, or retried since), ignored.",
		func(a asyncStats) float64 { return float64(a.Late) }),
}

var asyncLatency = newHistogram(asyncLabels, "troupe_async_latency_seconds",
	"Time from a record's arrival at an async operator to its emission: every attempt, backoff and ordering wait included.",
	asyncLatencyHistogram)

// jobStatus is 1 for the job's current status, 0 for the others.
var jobStatus = prometheus.NewDesc("troupe_job_status",
	"The job's status: 1 for the current one (created, running, restarting, finished, failed, cancelled), 0 for the others.",
	append(jobLabels[:len(jobLabels):len(jobLabels)], "status"), nil)

// jobMetrics are exported for every job whose master runs on the node.
var jobMetrics = []*metric[jobView]{
	counter(jobLabels, "troupe_job_restarts_total", "Times the job was restarted after a failure.",
		func(j jobView) float64 { return float64(j.restarts) }),
	gauge(jobLabels, "troupe_job_uptime_seconds", "How long the job's current attempt has been running (0 when it is not).",
		func(j jobView) float64 { return j.uptime }),
	counter(jobLabels, "troupe_checkpoints_completed_total", "Checkpoints and savepoints completed.",
		func(j jobView) float64 { return float64(j.checkpoints.Completed) }),
	counter(jobLabels, "troupe_checkpoints_unaligned_total", "Checkpoints completed that some subtask took unaligned (its barrier overtook in-flight data).",
		func(j jobView) float64 { return float64(j.checkpoints.Unaligned) }),
	counter(jobLabels, "troupe_checkpoints_failed_total", "Checkpoints and savepoints that failed (timed out, declined, not written); aborted ones are not counted.",
		func(j jobView) float64 { return float64(j.checkpoints.Failed) }),
	gauge(jobLabels, "troupe_checkpoints_in_progress", "Checkpoints and savepoints pending now.",
		func(j jobView) float64 { return float64(j.checkpoints.InProgress) }),
	gaugeIf(jobLabels, "troupe_checkpoint_last_completed_id", "The id of the latest completed checkpoint.",
		func(j jobView) (float64, bool) { c, ok := lastCompleted(j); return float64(c.ID), ok }),
	gaugeIf(jobLabels, "troupe_checkpoint_last_duration_seconds", "How long the latest completed checkpoint took.",
		func(j jobView) (float64, bool) { c, ok := lastCompleted(j); return c.Duration.Seconds(), ok }),
	gaugeIf(jobLabels, "troupe_checkpoint_last_size_bytes", "The state bytes of the latest completed checkpoint.",
		func(j jobView) (float64, bool) { c, ok := lastCompleted(j); return float64(c.Size), ok }),
}

// checkpointHistograms are over a job's completed checkpoints.
var checkpointHistograms = []*histogram[jobView]{
	newHistogram(jobLabels, "troupe_checkpoint_duration_seconds", "Time from a checkpoint's trigger to its metadata being durable.",
		func(j jobView) actors.Histogram { return j.checkpoints.Durations }),
	newHistogram(jobLabels, "troupe_checkpoint_size_bytes", "The state bytes a checkpoint stored, all subtasks together.",
		func(j jobView) actors.Histogram { return j.checkpoints.Sizes }),
	newHistogram(jobLabels, "troupe_checkpoint_alignment_seconds", "The longest time a subtask of a checkpoint waited for barriers on all its inputs.",
		func(j jobView) actors.Histogram { return j.checkpoints.Alignments }),
	newHistogram(jobLabels, "troupe_checkpoint_inflight_bytes", "The in-flight data (records overtaken by unaligned barriers) a checkpoint persisted, part of its size.",
		func(j jobView) actors.Histogram { return j.checkpoints.InFlight }),
}

// lastCompleted returns the job's latest completed checkpoint.
func lastCompleted(j jobView) (actors.CheckpointStats, bool) {
	if l := j.checkpoints.Latest; l != nil {
		return *l, true
	}
	return actors.CheckpointStats{}, false
}

// nodeMetrics are the node's view of its cluster.
var nodeMetrics = []*metric[NodeStats]{
	gauge[NodeStats](nil, "troupe_node_members", "Live members of the cluster as this node sees them, itself included.",
		func(n NodeStats) float64 { return float64(n.Members) }),
	gauge[NodeStats](nil, "troupe_node_slots", "The node's slots.",
		func(n NodeStats) float64 { return float64(n.Slots) }),
	gauge[NodeStats](nil, "troupe_node_slots_used", "The node's slots its subtasks use.",
		func(n NodeStats) float64 { return float64(n.SlotsUsed) }),
	gauge[NodeStats](nil, "troupe_node_slots_free", "The node's slots free.",
		func(n NodeStats) float64 { return float64(max(n.Slots-n.SlotsUsed, 0)) }),
}
