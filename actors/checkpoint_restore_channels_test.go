package actors

import (
	"errors"
	"testing"

	"github.com/troupe-dev/troupe/persistence"
)

// withChannels adds channel state handles to cp's metadata, with inflight
// bytes of records on subtask 0.
func withChannels(cp *persistence.Checkpoint, inflight int64) {
	for i := range cp.Meta.Tasks {
		cp.Meta.Tasks[i].Channels = "channels"
	}
	cp.Meta.Tasks[0].InFlight = inflight
}

// Channel state restores only where it was taken: at the same
// parallelism every subtask gets its own; at another, a checkpoint with
// records in flight is refused (ErrUnalignedRescale, naming the vertex
// and both parallelisms), one whose channel state holds only watermarks
// restores as an aligned one, without it.
func TestPlanFrom_channelState(t *testing.T) {
	g2, v2 := restoreGraph(t, 2)
	cp := writeStates(t, g2, v2, true, listState("a"), listState("b"))
	withChannels(cp, 100)
	plan, err := planFrom(cp, g2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if tr := plan.taskOf(v2, i); tr == nil || tr.channels != "channels" {
			t.Fatalf("subtask %d restores channel state %+v, want its own", i, tr)
		}
	}

	g3, v3 := restoreGraph(t, 3)
	if _, err := planFrom(cp, g3); !errors.Is(err, ErrUnalignedRescale) {
		t.Fatalf("rescale of a checkpoint with records in flight: %v, want ErrUnalignedRescale", err)
	}

	withChannels(cp, 0)
	plan, err = planFrom(cp, g3)
	if err != nil {
		t.Fatalf("rescale of a checkpoint without records in flight: %v", err)
	}
	for i := range 3 {
		if tr := plan.taskOf(v3, i); tr != nil && tr.channels != "" {
			t.Fatalf("rescaled subtask %d restores channel state %q", i, tr.channels)
		}
	}
}
