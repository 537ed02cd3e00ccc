package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// Slot is where one slot of a job runs: slot i holds subtask i of every
// vertex whose parallelism is above i (slot sharing, as in Flink). A job
// needs as many slots as its highest parallelism.
type Slot struct {
	// Node names the node, for placement reports and errors.
	Node string
	// TaskManager is the node's task manager (Engine.StartTaskManager),
	// which spawns the attempt's job agent there. Nil places the slot in
	// a job agent that the job master spawns in its own process.
	TaskManager *actor.PID
}

// Placer maps a job's slots to nodes. The job master calls it from its
// own goroutine, never twice at once for one job.
type Placer interface {
	// Place returns one Slot per slot for attempt `attempt` of run `run`.
	// It is called before every deploy (restarts too), so a placer that
	// knows the live members places a restart on the survivors.
	Place(run string, attempt, slots int) ([]Slot, error)
	// Release is called once the attempt's agents are all gone: once for
	// every attempt Place was called for, also when Place failed or the
	// deploy did.
	Release(run string, attempt int)
}

// WithPlacer places the job's slots with p. Without it every slot is in a
// job agent in the job master's process.
func WithPlacer(p Placer) SubmitOption {
	return func(m *master) { m.placer = p }
}

// localPlacer puts every slot in the master's own agent.
type localPlacer struct{}

func (localPlacer) Place(_ string, _, slots int) ([]Slot, error) { return make([]Slot, slots), nil }
func (localPlacer) Release(string, int)                          {}

// VertexPlacement says where the subtasks of one vertex run in the
// current attempt.
type VertexPlacement struct {
	Vertex      string
	Parallelism int
	// Nodes holds, by subtask index, the node of the subtask's slot (""
	// for a slot in the job master's own process).
	Nodes []string
}

// Placement returns where the current attempt's subtasks run; nil
// before the first deploy.
func (j *Job) Placement() []VertexPlacement {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]VertexPlacement, len(j.placement))
	for i, vp := range j.placement {
		vp.Nodes = append([]string(nil), vp.Nodes...)
		out[i] = vp
	}
	return out
}

func (j *Job) setPlacement(p []VertexPlacement) {
	j.mu.Lock()
	j.placement = p
	j.mu.Unlock()
}

// checkSlots rejects a placement of the wrong length.
func checkSlots(slots []Slot, want int) error {
	if len(slots) != want {
		return fmt.Errorf("%w: the placer returned %d slots for %d", ErrPlacement, len(slots), want)
	}
	return nil
}
