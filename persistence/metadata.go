package persistence

import (
	"encoding/json"
	"fmt"
)

// Metadata describes one complete checkpoint or savepoint: which job it
// belongs to and where each subtask's state is. A checkpoint is complete
// exactly when its metadata has been stored.
type Metadata struct {
	ID        int64 `json:"id"`
	Savepoint bool  `json:"savepoint,omitempty"`
	// Job is the pipeline's name; Fingerprint identifies the pipeline and
	// its parameters, so that a resume never restores another job's state.
	Job         string `json:"job"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Run is the id of the job run that took the checkpoint (a job
	// submission and the restarts and resumes that continue it). A run
	// restarts only from its own checkpoints; another run starts from one
	// only when told to (a savepoint path). Empty in metadata written
	// before runs had ids: the field was added to the JSON without a new
	// format version, since older readers ignore it and it is optional.
	Run string `json:"run,omitempty"`
	// MaxParallelism is the job's number of key groups.
	MaxParallelism int         `json:"maxParallelism"`
	Tasks          []TaskState `json:"tasks"`
}

// TaskState locates the state of one subtask in a checkpoint.
type TaskState struct {
	Vertex      string   `json:"vertex"`
	Operators   []string `json:"operators"`
	Subtask     int      `json:"subtask"`
	Parallelism int      `json:"parallelism"`
	// Handle is where the store keeps the state; empty for a subtask
	// without state.
	Handle string `json:"handle,omitempty"`
	// Finished: the subtask had ended (sent end of input) when it
	// snapshotted. A vertex whose subtasks had all finished is not run
	// again on restore: its operators end at once.
	Finished bool `json:"finished,omitempty"`
	// States says what the state under Handle holds, per operator (by
	// name) that has state in it: a restore plans from the metadata
	// alone which files each new subtask reads. Nil in metadata written
	// before it was added (the field was added to the JSON without a new
	// format version; older readers ignore it): a restore then takes any
	// file as holding anything.
	States map[string]StateSummary `json:"states,omitempty"`
	// Channels is where the store keeps the subtask's in-flight data at
	// an unaligned checkpoint (a ChannelState); empty when it had none.
	// InFlight is that data's size in bytes of records. Metadata that
	// lists any is sealed at FormatVersionChannels, so that a build which
	// would restore without it refuses it instead.
	Channels string `json:"channels,omitempty"`
	InFlight int64  `json:"inflight,omitempty"`
}

// StateSummary says what one operator's state holds in one subtask's
// state file.
type StateSummary struct {
	// Keyed: keyed state, of the key groups of the subtask that wrote it.
	Keyed bool `json:"keyed,omitempty"`
	// Operator: an operator snapshot (OperatorSnapshot), whose lists are
	// named in Lists and whose union lists in Union.
	Operator bool     `json:"operator,omitempty"`
	Lists    []string `json:"lists,omitempty"`
	Union    []string `json:"union,omitempty"`
}

// InFlightBytes returns the bytes of records in flight that the
// subtasks stored (the sum of TaskState.InFlight).
func (m *Metadata) InFlightBytes() int64 {
	var n int64
	for _, t := range m.Tasks {
		n += t.InFlight
	}
	return n
}

// HasChannelState reports whether some subtask stored channel state: the
// checkpoint is unaligned somewhere.
func (m *Metadata) HasChannelState() bool {
	for _, t := range m.Tasks {
		if t.Channels != "" {
			return true
		}
	}
	return false
}

// MarshalBinary encodes the metadata in a sealed envelope: at
// FormatVersionChannels if it lists channel state, else at FormatVersion.
func (m *Metadata) MarshalBinary() ([]byte, error) {
	p, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("persistence: encode metadata of checkpoint %d: %w", m.ID, err)
	}
	b := Seal(KindMetadata, p)
	if m.HasChannelState() {
		b = resealAt(b, FormatVersionChannels)
	}
	return b, nil
}

// UnmarshalMetadata decodes what Metadata.MarshalBinary wrote; the error
// wraps ErrCorrupt or ErrVersion.
func UnmarshalMetadata(b []byte) (*Metadata, error) {
	p, err := unsealKind(b, KindMetadata)
	if err != nil {
		return nil, err
	}
	m := &Metadata{}
	if err := json.Unmarshal(p, m); err != nil {
		return nil, corruptf("metadata: %v", err)
	}
	if m.ID < 1 || m.MaxParallelism < 1 {
		return nil, corruptf("metadata: checkpoint id %d, max parallelism %d", m.ID, m.MaxParallelism)
	}
	return m, nil
}
