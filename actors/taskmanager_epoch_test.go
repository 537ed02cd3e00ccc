package actors

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors/wire"
)

// Owner epochs at the task manager. A cluster's job master deploys with
// the owner epoch of its job record (OwnerEpoch). After a partition, the
// job's earlier owner may not yet know that another node took the job
// over at a higher epoch, and its master may restart and deploy again:
// its attempt must not run beside the new owner's on a node that has seen
// the new epoch.

// epochAttempt is the first attempt of the owner at epoch 2, as the
// cluster numbers them.
const epochAttempt = 1<<16 + 1

// A deploy of a run at an epoch below the highest the task manager has
// seen for that run is refused: the stale master hears why, and only the
// newer owner's agent holds slots.
func TestTaskManager_refusesADeployOfAStaleEpoch(t *testing.T) {
	e, tm, _ := localCluster(t, nil)
	newer := startStandInAs(t, e, tm, "newer", "run-x", epochAttempt, 2)
	if r, ok := newer.next(t).(*wire.AgentReady); !ok {
		t.Fatalf("the owner at epoch 2 got %v, want AgentReady", r)
	}
	stale := startStandInAs(t, e, tm, "stale", "run-x", 3, 1)
	m := stale.next(t)
	f, ok := m.(*wire.AgentFailed)
	if !ok {
		t.Fatalf("the owner at epoch 1 got %T, want AgentFailed: its deploy ran beside epoch 2's (task manager holds %d slots)", m, tm.SlotsUsed())
	}
	if !strings.Contains(f.Error, "epoch 1") || !strings.Contains(f.Error, "epoch 2") || f.Attempt != 3 {
		t.Errorf("refusal %q of attempt %d; want it to name both epochs, for attempt 3", f.Error, f.Attempt)
	}
	if got := tm.Jobs(); tm.SlotsUsed() != 2 || len(got) != 1 || got[0] != "run-x" {
		t.Fatalf("task manager runs %v with %d slots, want only epoch 2's agent (2 slots)", got, tm.SlotsUsed())
	}
	// Another run is not concerned by run-x's epochs.
	other := startStandInAs(t, e, tm, "other", "run-y", 1, 1)
	if r, ok := other.next(t).(*wire.AgentReady); !ok {
		t.Fatalf("another run at epoch 1 got %v, want AgentReady", r)
	}
}

// A deploy at a higher epoch than the task manager has seen for the run
// stops the agents (and subtasks) of the lower epochs, telling their
// master why, and then runs.
func TestTaskManager_higherEpochStopsTheStaleAgents(t *testing.T) {
	e, tm, _ := localCluster(t, nil)
	stale := startStandInAs(t, e, tm, "stale", "run-x", 3, 1)
	if r, ok := stale.next(t).(*wire.AgentReady); !ok {
		t.Fatalf("the owner at epoch 1 got %v, want AgentReady", r)
	}
	newer := startStandInAs(t, e, tm, "newer", "run-x", epochAttempt, 2)
	if r, ok := newer.next(t).(*wire.AgentReady); !ok {
		t.Fatalf("the owner at epoch 2 got %v, want AgentReady", r)
	}
	f := nextFailure(stale, 10*time.Second)
	if f == nil || !strings.Contains(f.Error, "epoch 2") || f.Attempt != 3 {
		t.Fatalf("the stale master was told %v; want AgentFailed of attempt 3 naming epoch 2", f)
	}
	eventually(t, 10*time.Second, func() bool { return tm.SlotsUsed() == 2 && !tm.runsAttempt("run-x", 3) },
		"the agent of epoch 1 to stop, leaving epoch 2's")
	if !tm.runsAttempt("run-x", epochAttempt) {
		t.Fatal("the agent of epoch 2 stopped too")
	}
}

// A job master stamps its deploys with OwnerEpoch's epoch.
func TestMaster_deploysCarryTheOwnerEpoch(t *testing.T) {
	e := newTestEngine(t, nil)
	got := make(chan *wire.StartAgent, 4)
	// A task manager that refuses every deploy for good, after noting it:
	// the job fails at once.
	fake, err := e.System().Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if sa, ok := ctx.Message().(*wire.StartAgent); ok {
			got <- sa
			ctx.Send(actor.NewPID(sa.Master.Address, sa.Master.Id), &wire.AgentFailed{Run: sa.Run, Attempt: sa.Attempt,
				Kind: wire.FailureKind_FAILURE_CONFIG, Error: "refused by the test", Agent: sa.Agent})
		}
	}), "fake-tm")
	if err != nil {
		t.Fatal(err)
	}
	placer := &ringPlacer{nodes: []Slot{{Node: "n0", TaskManager: fake}}}
	j, err := e.SubmitSpec(clusterRegistry(), JobSpec{Pipeline: "keyed-count", Params: map[string]string{"out": t.TempDir()}},
		WithPlacer(placer), OwnerEpoch(7))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := j.Wait(ctx); !errors.Is(err, ErrGraphMismatch) {
		t.Fatalf("job ended with %v, want the fake's refusal", err)
	}
	select {
	case sa := <-got:
		if sa.Epoch != 7 {
			t.Fatalf("StartAgent carries epoch %d, want 7", sa.Epoch)
		}
	default:
		t.Fatal("no StartAgent")
	}
}

// nextFailure returns the next AgentFailed a stand-in got within d,
// skipping its agent's other reports, or nil.
func nextFailure(s *standIn, d time.Duration) *wire.AgentFailed {
	deadline := time.After(d)
	for {
		select {
		case m := <-s.reports:
			if f, ok := m.(*wire.AgentFailed); ok {
				return f
			}
		case <-deadline:
			return nil
		}
	}
}

// runsAttempt reports whether the task manager has a live agent of the
// run's attempt.
func (t *TaskManager) runsAttempt(run string, attempt int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range t.agents {
		if a.run == run && a.attempt == attempt {
			return true
		}
	}
	return false
}

// A real job master at a stale epoch: its deploy is refused by a task
// manager that runs the run for epoch 2, and its attempt fails with
// ErrSuperseded (without checkpoints, the job fails: no restart).
func TestMaster_staleEpochDeployFailsWithErrSuperseded(t *testing.T) {
	e, tm, placer := localCluster(t, nil)
	newer := startStandInAs(t, e, tm, "newer", "run-x", epochAttempt, 2)
	if r, ok := newer.next(t).(*wire.AgentReady); !ok {
		t.Fatalf("the owner at epoch 2 got %v, want AgentReady", r)
	}
	j, err := e.SubmitSpec(clusterRegistry(), JobSpec{Pipeline: "keyed-count", Params: map[string]string{"out": t.TempDir()}},
		WithPlacer(placer), ContinueRun("run-x"), FirstAttempt(3), OwnerEpoch(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := j.Wait(ctx); !errors.Is(err, ErrSuperseded) || !strings.Contains(err.Error(), "node n0") {
		t.Fatalf("the stale job ended with %v, want ErrSuperseded naming the node", err)
	}
	if !tm.runsAttempt("run-x", epochAttempt) || tm.SlotsUsed() != 2 {
		t.Fatalf("the task manager holds %d slots; want epoch 2's agent alone", tm.SlotsUsed())
	}
}
