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
}

// CheckpointInfo names a complete checkpoint or savepoint.
type CheckpointInfo struct {
	ID   int64  `json:"id"`
	Path string `json:"path"`
}

// VertexStatus is one vertex of a job's graph and where its subtasks run.
type VertexStatus struct {
	Name        string          `json:"name"`
	Parallelism int             `json:"parallelism"`
	Subtasks    []SubtaskStatus `json:"subtasks"`
}

// SubtaskStatus says on which node a subtask of the current attempt runs.
type SubtaskStatus struct {
	Index int    `json:"index"`
	Node  string `json:"node"`
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
