package cluster

import "time"

// JobRequest submits a registered pipeline to the cluster. It is what the
// REST API's POST /v1/jobs takes, field for field.
type JobRequest struct {
	// Pipeline is the registered pipeline's name.
	Pipeline string `json:"pipeline"`
	// Params are the pipeline's parameters as key=value strings; missing
	// ones take their defaults.
	Params map[string]string `json:"params,omitempty"`
	// Parallelism overrides the pipeline's default parallelism; 0 keeps it.
	Parallelism int `json:"parallelism,omitempty"`
	// CheckpointInterval is a Go duration ("200ms"); empty turns
	// checkpoints off.
	CheckpointInterval string `json:"checkpointInterval,omitempty"`
	// Unaligned makes the checkpoints unaligned (needs
	// CheckpointInterval); AlignmentTimeout, a Go duration, starts them
	// aligned and switches after it (needs Unaligned). See
	// actors.CheckpointConfig.
	Unaligned        bool   `json:"unaligned,omitempty"`
	AlignmentTimeout string `json:"alignmentTimeout,omitempty"`
	// StateBackend is "heap" (default) or "bbolt".
	StateBackend string `json:"stateBackend,omitempty"`
	// Restore is the path of a savepoint or checkpoint to start from.
	Restore string `json:"restore,omitempty"`
}

// Job states as the API reports them. The first is the cluster's own; the
// others are actors.JobState's names.
const (
	StateWaitingForSlots = "waiting-for-slots"
	StateRunning         = "running"
	StateRestarting      = "restarting"
	StateFinished        = "finished"
	StateFailed          = "failed"
	StateCancelled       = "cancelled"
)

// JobStatus is a job as the REST API shows it.
type JobStatus struct {
	ID          string            `json:"id"`
	Pipeline    string            `json:"pipeline"`
	Params      map[string]string `json:"params,omitempty"`
	Parallelism int               `json:"parallelism"`
	State       string            `json:"state"`
	Submitted   time.Time         `json:"submitted"`
	// RunningSince is when the current attempt started running: every
	// subtask deployed on its node, the sources started. Zero while the
	// job waits for slots, deploys or restarts; once it has ended, when
	// its last attempt started.
	RunningSince time.Time `json:"runningSince,omitzero"`
	// Ended is zero while the job runs.
	Ended    time.Time `json:"ended,omitzero"`
	Restarts int       `json:"restarts"`
	// Failure is the cause of the job's failure (or of its latest
	// restart), naming the operator, subtask and node.
	Failure          string          `json:"failure,omitempty"`
	LatestCheckpoint *CheckpointInfo `json:"latestCheckpoint,omitempty"`
	Vertices         []VertexStatus  `json:"vertices,omitempty"`
	// Owner is the node whose job master runs the job (the coordinator
	// that admitted it, or the one that took it over).
	Owner string `json:"owner,omitempty"`
	// UptimeSeconds is how long the current attempt has been running (0
	// when it is not).
	UptimeSeconds float64 `json:"uptimeSeconds"`
	// Edges are the graph's edges between Vertices.
	Edges []EdgeStatus `json:"edges,omitempty"`
	// Checkpoints are the job's checkpoint counts and recent history;
	// nil for a job that takes no checkpoints (submitted without
	// checkpointInterval), and before its job master started.
	Checkpoints *CheckpointsStatus `json:"checkpoints,omitempty"`
	// Exceptions are the job's failures, oldest first (the last 32).
	Exceptions []ExceptionStatus `json:"exceptions,omitempty"`
}

// EdgeStatus is an edge of a job's graph: From and To index Vertices.
type EdgeStatus struct {
	From int `json:"from"`
	To   int `json:"to"`
	// Partitioning is forward, hash, rebalance or broadcast.
	Partitioning string `json:"partitioning"`
	// SideOutput names the side output the edge carries; "" for the
	// main output.
	SideOutput string `json:"sideOutput,omitempty"`
}

// CheckpointInfo names a complete checkpoint or savepoint.
type CheckpointInfo struct {
	ID   int64  `json:"id"`
	Path string `json:"path"`
}

// VertexStatus is one vertex of a job's graph, where its subtasks run,
// and what they do.
type VertexStatus struct {
	ID          int             `json:"id"`
	Name        string          `json:"name"`
	Parallelism int             `json:"parallelism"`
	Subtasks    []SubtaskStatus `json:"subtasks"`
	// Metrics sum up its subtasks' latest samples; nil before the first.
	Metrics *VertexMetrics `json:"metrics,omitempty"`
}

// SubtaskStatus says on which node a subtask of the current attempt runs,
// and what it does.
type SubtaskStatus struct {
	Index   int             `json:"index"`
	Node    string          `json:"node"`
	Metrics *SubtaskMetrics `json:"metrics,omitempty"`
}

// SubtaskMetrics are a subtask's latest sample (actors.SubtaskSample):
// counts since its attempt started, rates and fractions of time over the
// sampling interval. Watermarks are milliseconds of event time, absent
// before the first.
type SubtaskMetrics struct {
	RecordsIn           int64   `json:"recordsIn"`
	RecordsOut          int64   `json:"recordsOut"`
	RecordsInPerSecond  float64 `json:"recordsInPerSecond"`
	RecordsOutPerSecond float64 `json:"recordsOutPerSecond"`
	Busy                float64 `json:"busy"`
	Idle                float64 `json:"idle"`
	Backpressured       float64 `json:"backpressured"`
	InputWatermark      *int64  `json:"inputWatermark,omitempty"`
	OutputWatermark     *int64  `json:"outputWatermark,omitempty"`
	MailboxLen          int64   `json:"mailboxLen"`
}

// VertexMetrics sum up a vertex's subtasks: records and rates added up;
// Busy and Backpressured the highest among them (a vertex is as
// backpressured as its worst subtask, as Flink's web UI shows it);
// watermarks the lowest; StateBytes what the vertex stored in the
// latest completed checkpoint.
type VertexMetrics struct {
	RecordsIn           int64     `json:"recordsIn"`
	RecordsOut          int64     `json:"recordsOut"`
	RecordsInPerSecond  float64   `json:"recordsInPerSecond"`
	RecordsOutPerSecond float64   `json:"recordsOutPerSecond"`
	Busy                float64   `json:"busy"`
	Backpressured       float64   `json:"backpressured"`
	InputWatermark      *int64    `json:"inputWatermark,omitempty"`
	OutputWatermark     *int64    `json:"outputWatermark,omitempty"`
	LateRecordsDropped  int64     `json:"lateRecordsDropped"`
	StateBytes          int64     `json:"stateBytes"`
	SampledAt           time.Time `json:"sampledAt"`
}

// CheckpointsStatus is a job's checkpointing: counts, the latest
// completed one and the last 32 that ended, oldest first.
type CheckpointsStatus struct {
	Completed  int64             `json:"completed"`
	Failed     int64             `json:"failed"`
	InProgress int               `json:"inProgress"`
	Latest     *CheckpointEntry  `json:"latest,omitempty"`
	History    []CheckpointEntry `json:"history"`
}

// CheckpointEntry is one checkpoint or savepoint that ended. Status is
// completed, failed or aborted (subsumed by a newer one, or given up
// with its attempt).
type CheckpointEntry struct {
	ID          int64     `json:"id"`
	Savepoint   bool      `json:"savepoint"`
	Status      string    `json:"status"`
	Triggered   time.Time `json:"triggered"`
	DurationMs  float64   `json:"durationMs"`
	SizeBytes   int64     `json:"sizeBytes"`
	AlignmentMs float64   `json:"alignmentMs"`
	// Unaligned: some subtask took it unaligned; InFlightBytes is the
	// in-flight data it persisted (part of SizeBytes).
	Unaligned     bool   `json:"unaligned,omitempty"`
	InFlightBytes int64  `json:"inFlightBytes,omitempty"`
	Path          string `json:"path,omitempty"`
	Failure       string `json:"failure,omitempty"`
}

// ExceptionStatus is one failure of a job: the cause of a restart or of
// its end. Vertex, Subtask and Node name the failing subtask; they are
// absent for a failure of no one subtask (a lost node, too many failed
// checkpoints).
type ExceptionStatus struct {
	Time    time.Time `json:"time"`
	Attempt int       `json:"attempt"`
	Vertex  string    `json:"vertex,omitempty"`
	Subtask *int      `json:"subtask,omitempty"`
	Node    string    `json:"node,omitempty"`
	Error   string    `json:"error"`
}

// MemberStatus is a live member as the REST API shows it.
type MemberStatus struct {
	Name        string    `json:"name"`
	ActorAddr   string    `json:"actorAddr"`
	HTTPAddr    string    `json:"httpAddr"`
	GossipAddr  string    `json:"gossipAddr"`
	Slots       int       `json:"slots"`
	SlotsUsed   int       `json:"slotsUsed"`
	Version     string    `json:"version"`
	Started     time.Time `json:"started"`
	Coordinator bool      `json:"coordinator"`
	// Reachable: the node that answers has exchanged messages with the
	// member over the data plane (Proto.Actor remote; always true for
	// itself). Subtasks are placed only on reachable members; one that
	// stays unreachable has a certificate the others do not trust, or an
	// address they cannot dial.
	Reachable bool `json:"reachable"`
}

// NodeStatus is the node asked, as the REST API shows it (GET /v1/node):
// its own task manager, remote channels and memory, not the cluster's.
type NodeStatus struct {
	Name      string `json:"name"`
	Slots     int    `json:"slots"`
	SlotsUsed int    `json:"slotsUsed"`
	// Jobs are the runs with subtasks on the node.
	Jobs   []string     `json:"jobs"`
	Remote RemoteStatus `json:"remote"`
	Memory MemoryStatus `json:"memory"`
}

// RemoteStatus is what the node's remote channels have sent and have in
// flight (actors.RemoteStats says what each count means). InFlight is
// what bounds Proto.Actor's send queue, which does not tell its length:
// it never passes CreditBound.
type RemoteStatus struct {
	Batches          int64 `json:"batches"`
	Fragments        int64 `json:"fragments"`
	Bytes            int64 `json:"bytes"`
	Channels         int64 `json:"channels"`
	CreditBound      int64 `json:"creditBound"`
	InFlight         int64 `json:"inFlight"`
	InFlightBytes    int64 `json:"inFlightBytes"`
	MaxInFlight      int64 `json:"maxInFlight"`
	MaxInFlightBytes int64 `json:"maxInFlightBytes"`
}

// MemoryStatus is the node's Go memory (runtime.MemStats).
type MemoryStatus struct {
	// HeapBytes is the live and not yet collected heap (HeapAlloc).
	HeapBytes uint64 `json:"heapBytes"`
	// SysBytes is what the Go runtime has obtained from the OS (Sys).
	SysBytes uint64 `json:"sysBytes"`
	// GCs is the number of completed garbage collections.
	GCs uint32 `json:"gcs"`
}
