package actors

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// ringPlacer deals a job's slots round robin over nodes, and records the
// placements and releases it saw.
type ringPlacer struct {
	nodes []Slot

	mu       sync.Mutex
	placed   []int // attempts placed
	released []int // attempts released
}

func (p *ringPlacer) Place(_ string, attempt, slots int) ([]Slot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.placed = append(p.placed, attempt)
	out := make([]Slot, slots)
	for i := range out {
		out[i] = p.nodes[i%len(p.nodes)]
	}
	return out, nil
}

func (p *ringPlacer) Release(_ string, attempt int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.released = append(p.released, attempt)
}

func (p *ringPlacer) history() (placed, released []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.placed...), append([]int(nil), p.released...)
}

// localCluster is an engine with a task manager running the cluster
// tests' pipelines, its placer putting every slot on that task manager
// under the name "n0".
func localCluster(t *testing.T, mod func(*Config)) (*Engine, *TaskManager, *ringPlacer) {
	t.Helper()
	e := newTestEngine(t, mod)
	tm, err := e.StartTaskManager(clusterRegistry(), 4)
	if err != nil {
		t.Fatal(err)
	}
	return e, tm, &ringPlacer{nodes: []Slot{{Node: "n0", TaskManager: tm.PID()}}}
}

// waitEmpty polls until tm holds no job and no slot.
func waitEmpty(t *testing.T, tm *TaskManager) {
	t.Helper()
	eventually(t, 10*time.Second, func() bool { return len(tm.Jobs()) == 0 && tm.SlotsUsed() == 0 },
		fmt.Sprintf("the task manager to be empty (jobs %v, slots %d)", tm.Jobs(), tm.SlotsUsed()))
}

// A job submitted by spec and placed on a task manager runs there: the
// task manager builds the graph, its agent the subtasks; once the job
// has finished the task manager is empty and the placer released.
func TestTaskManager_runsPlacedJob(t *testing.T) {
	e, tm, placer := localCluster(t, nil)
	out := t.TempDir()
	j, err := e.SubmitSpec(clusterRegistry(), JobSpec{Pipeline: "keyed-count", Parallelism: 3,
		Params: map[string]string{"n": "3000", "out": out}}, WithPlacer(placer))
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJob(t, j); err != nil {
		t.Fatal(err)
	}
	checkCounted(t, readCounted(t, out), 3000, 61)
	pl := j.Placement()
	if len(pl) != 2 || pl[1].Vertex != "count -> sink" || strings.Join(pl[1].Nodes, ",") != "n0,n0,n0" {
		t.Fatalf("placement %+v, want 2 vertices with 3 subtasks each on n0", pl)
	}
	waitEmpty(t, tm)
	if placed, released := placer.history(); fmt.Sprint(placed) != "[1]" || fmt.Sprint(released) != "[1]" {
		t.Fatalf("placer placed attempts %v and released %v, want [1] and [1]", placed, released)
	}
}

// A failure in a subtask run by a task manager's agent restarts the job
// from its checkpoint, which the new agent reads from the run's store by
// path: the output is exactly once, and the cause names the node.
func TestTaskManager_failureRestoresCheckpoint(t *testing.T) {
	e, tm, placer := localCluster(t, nil)
	out := t.TempDir()
	j, err := e.SubmitSpec(clusterRegistry(), JobSpec{Pipeline: "keyed-count", Parallelism: 2,
		Params:     map[string]string{"n": "6000", "out": out, "fail-at": "3001", "rate": "20000"},
		Checkpoint: &CheckpointConfig{Interval: 10 * time.Millisecond}, Restart: FixedDelay(2, time.Millisecond)},
		WithPlacer(placer))
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJob(t, j); err != nil {
		t.Fatal(err)
	}
	if j.Restarts() != 1 {
		t.Fatalf("%d restarts, want 1", j.Restarts())
	}
	var se *SubtaskError
	if err := j.Failure(); !errors.As(err, &se) || se.Node != "n0" || !strings.Contains(err.Error(), "injected failure at record 3001") {
		t.Fatalf("Failure() = %v, want the source's injected failure on node n0", err)
	}
	checkCounted(t, readCounted(t, out), 6000, 61)
	waitEmpty(t, tm)
	if placed, released := placer.history(); fmt.Sprint(placed) != "[1 2]" || fmt.Sprint(released) != "[1 2]" {
		t.Fatalf("placer placed attempts %v and released %v, want both attempts", placed, released)
	}
}

// Cancel stops the agents; the task manager is left empty.
func TestTaskManager_cancelLeavesNothing(t *testing.T) {
	e, tm, placer := localCluster(t, nil)
	tag := uniqueTag(t)
	j, err := e.SubmitSpec(clusterRegistry(), JobSpec{Pipeline: "slow-sink", Params: map[string]string{"tag": tag}},
		WithPlacer(placer))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() bool { return counter(tag+"/sunk-1").Load() > 0 }, "records at the sink")
	if got := tm.Jobs(); len(got) != 1 || got[0] != j.RunID() || tm.SlotsUsed() != 2 {
		t.Fatalf("task manager runs %v with %d slots, want run %s with 2", got, tm.SlotsUsed(), j.RunID())
	}
	j.Cancel()
	if err := waitJob(t, j); !errors.Is(err, ErrCancelled) {
		t.Fatalf("job ended with %v, want cancelled", err)
	}
	waitEmpty(t, tm)
}

// A node that builds the pipeline as another graph (another binary)
// fails the deploy with ErrGraphMismatch naming the node; the job fails
// without a restart.
func TestTaskManager_graphMismatchFailsJob(t *testing.T) {
	other := NewRegistry()
	spec := keyedCountSpec()
	build := spec.Build
	spec.Build = func(ps Params) (*operators.Pipeline, error) {
		p, err := build(ps)
		if p != nil {
			p.SetParallelism(3)
		}
		return p, err
	}
	other.MustRegister(spec)
	e := newTestEngine(t, func(c *Config) { c.Restart = FixedDelay(5, time.Millisecond) })
	tm, err := e.StartTaskManager(other, 4)
	if err != nil {
		t.Fatal(err)
	}
	placer := &ringPlacer{nodes: []Slot{{Node: "odd", TaskManager: tm.PID()}}}
	j, err := e.SubmitSpec(clusterRegistry(), JobSpec{Pipeline: "keyed-count", Params: map[string]string{"out": t.TempDir()}},
		WithPlacer(placer))
	if err != nil {
		t.Fatal(err)
	}
	err = waitJob(t, j)
	if !errors.Is(err, ErrGraphMismatch) || !strings.Contains(err.Error(), "node odd") || j.Restarts() != 0 {
		t.Fatalf("job ended with %v after %d restarts, want ErrGraphMismatch naming node odd, no restart", err, j.Restarts())
	}
	waitEmpty(t, tm)
}

// SubmitSpec refuses, before anything runs, what cannot run.
func TestEngine_SubmitSpec_validates(t *testing.T) {
	e := newTestEngine(t, nil)
	reg := clusterRegistry()
	out := t.TempDir()
	tests := []struct {
		name string
		spec JobSpec
		opts []SubmitOption
		want error
		in   string
	}{
		{"unknown pipeline", JobSpec{Pipeline: "nope"}, nil, ErrUnknownPipeline, "nope"},
		{"bad parameter", JobSpec{Pipeline: "keyed-count", Params: map[string]string{"out": out, "n": "many"}}, nil, ErrBadParam, "many"},
		{"missing parameter", JobSpec{Pipeline: "keyed-count"}, nil, ErrBadParam, "out"},
		{"bad state backend", JobSpec{Pipeline: "keyed-count", Params: map[string]string{"out": out}, StateBackend: "rocks"}, nil, ErrConfig, "rocks"},
		{"restore path missing", JobSpec{Pipeline: "keyed-count", Params: map[string]string{"out": out}},
			[]SubmitOption{RestoreFrom("/does/not/exist")}, ErrRestore, "/does/not/exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := e.SubmitSpec(reg, tt.spec, tt.opts...)
			if j != nil {
				j.Cancel()
			}
			wantErr(t, err, tt.want, tt.in)
		})
	}
}

// A job submitted as a graph cannot be placed on task managers, which
// could not build it: the attempt fails with ErrPlacement.
func TestEngine_Submit_graphOnTaskManagerFails(t *testing.T) {
	e, _, placer := localCluster(t, nil)
	p := operators.NewPipeline("graph-only")
	operators.Discard(operators.FromSlice(p, []int{1, 2, 3}))
	j := submit(t, e, p, WithPlacer(placer))
	if err := waitJob(t, j); !errors.Is(err, ErrPlacement) || !errors.Is(j.Failure(), ErrPlacement) {
		t.Fatalf("job ended with %v, want ErrPlacement", err)
	}
}

// standIn is a stand-in job master that asks tm for the agent of attempt
// 1 of run "run-<name>" of keyed-count and collects the agent's reports.
type standIn struct {
	pid     *actor.PID
	start   *wire.StartAgent
	reports chan proto.Message
}

func startStandIn(t *testing.T, e *Engine, tm *TaskManager, name string) *standIn {
	t.Helper()
	return startStandInAs(t, e, tm, name, "run-"+name, 1, 0)
}

// startStandInAs starts a stand-in master named name that asks tm for
// the agent of run's attempt at owner epoch epoch (0: none). Besides
// its agent's reports it collects what the task manager itself answers.
func startStandInAs(t *testing.T, e *Engine, tm *TaskManager, name, run string, attempt int32, epoch uint64) *standIn {
	t.Helper()
	spec := JobSpec{Pipeline: "keyed-count", Params: map[string]string{"out": t.TempDir()}}
	g, err := buildSpec(clusterRegistry(), spec)
	if err != nil {
		t.Fatal(err)
	}
	s := &standIn{reports: make(chan proto.Message, 16), start: &wire.StartAgent{Run: run, Attempt: attempt,
		Job: g.Name, Spec: wireSpec(&spec, graphFingerprint(g)), Slots: 2, Epoch: epoch,
		Config: &wire.RuntimeConfig{BatchSize: 64, BufferTimeoutNanos: int64(time.Millisecond), Credits: 2}}}
	for _, v := range g.Vertices {
		for i := range v.Parallelism {
			s.start.Subtasks = append(s.start.Subtasks, &wire.SubtaskSpec{Id: int32(len(s.start.Subtasks) + 1), Vertex: int32(v.ID), Index: int32(i)})
		}
	}
	s.pid, err = e.System().Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			s.start.Master = pidOf(ctx.Self())
			ctx.Send(tm.PID(), s.start)
		case *localReport: // the agent knows its master is in this process
			s.reports <- m.msg
		case *wire.AgentFailed: // from the task manager
			s.reports <- m
		}
	}), "stand-in-"+name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// next returns the stand-in's next report.
func (s *standIn) next(t *testing.T) proto.Message {
	t.Helper()
	select {
	case m := <-s.reports:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no report from the agent")
		return nil
	}
}

// A job agent whose master is gone stops with its subtasks: the task
// manager is left empty. The master here is a stand-in that asks for an
// agent and then stops, as a master whose node died would vanish.
func TestTaskManager_agentStopsWhenMasterGone(t *testing.T) {
	e, tm, _ := localCluster(t, nil)
	master := startStandIn(t, e, tm, "gone")
	if r, ok := master.next(t).(*wire.AgentReady); !ok || len(r.Subtasks) != len(master.start.Subtasks) {
		t.Fatalf("agent answered %v, want AgentReady with %d subtasks", r, len(master.start.Subtasks))
	}
	if got := tm.Jobs(); len(got) != 1 || got[0] != "run-gone" || tm.SlotsUsed() != 2 {
		t.Fatalf("task manager runs %v with %d slots, want run-gone with 2", got, tm.SlotsUsed())
	}
	if err := e.System().Root.StopFuture(master.pid).Wait(); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, tm)
}

// An agent that loses a peer agent it exchanges data with (the connection
// between their nodes broke) fails the attempt: ErrNodeLost, with a kind
// that the master restarts from. Messages lost on that connection could
// not be noticed otherwise.
func TestAgent_peerLostFailsAttempt(t *testing.T) {
	e, tm, _ := localCluster(t, nil)
	master := startStandIn(t, e, tm, "peer")
	ready, ok := master.next(t).(*wire.AgentReady)
	if !ok {
		t.Fatalf("agent answered %v, want AgentReady", ready)
	}
	peer, err := e.System().Root.SpawnNamed(actor.PropsFromFunc(func(actor.Context) {}), "peer-agent")
	if err != nil {
		t.Fatal(err)
	}
	agent := actor.NewPID(ready.Pid.Address, ready.Pid.Id)
	e.System().Root.Send(agent, &wire.Wire{Run: "run-peer", Attempt: 1, Peers: []*wire.Pid{pidOf(peer)}})
	if w, ok := master.next(t).(*wire.AgentWired); !ok {
		t.Fatalf("agent answered %v, want AgentWired", w)
	}
	e.System().Root.Stop(peer)
	f, ok := master.next(t).(*wire.AgentFailed)
	if !ok || f.Kind != wire.FailureKind_FAILURE_PEER_LOST || f.Peer.GetId() != peer.Id ||
		!strings.Contains(f.Error, "peer-agent") || f.Run != "run-peer" || f.Attempt != 1 {
		t.Fatalf("agent reported %v, want the peer lost", f)
	}
	e.System().Root.Stop(agent)
	waitEmpty(t, tm)
}

// stallFirstWrite is a DirStore (one instance per Store call, as nodes
// sharing a directory have) whose first state write for checkpoint 1
// waits until release is closed.
type stallFirstWrite struct {
	*persistence.DirStore
	gate *writeGate
}

type writeGate struct {
	once             sync.Once
	stalled, release chan struct{}
}

func (s stallFirstWrite) WriteStateFrom(ctx context.Context, id int64, task string, src persistence.StateSource) (string, error) {
	first := false
	if id == 1 {
		s.gate.once.Do(func() { first = true })
	}
	if first {
		close(s.gate.stalled)
		select {
		case <-s.gate.release:
		case <-ctx.Done():
			return "", context.Cause(ctx)
		}
	}
	return s.DirStore.WriteStateFrom(ctx, id, task, src)
}

// A savepoint, the run's first checkpoint, still being written on a node
// when a later checkpoint completes, survives the master's retention:
// the master's store instance, which writes no state itself, knows the
// checkpoints of its run in progress. (Each node opens its own instance
// of the run's directory.)
func TestTaskManager_savepointInProgressSurvivesRetention(t *testing.T) {
	root := t.TempDir()
	gate := &writeGate{stalled: make(chan struct{}), release: make(chan struct{})}
	e, tm, placer := localCluster(t, func(c *Config) {
		c.Checkpoint.Store = func(job, run string) (CheckpointStore, error) {
			s, err := persistence.OpenDirStore(filepath.Join(root, job, run), 1)
			return stallFirstWrite{DirStore: s, gate: gate}, err
		}
	})
	j, err := e.SubmitSpec(clusterRegistry(), JobSpec{Pipeline: "keyed-count",
		Params:     map[string]string{"n": "100000000", "out": t.TempDir(), "rate": "2000"},
		Checkpoint: &CheckpointConfig{Interval: 20 * time.Millisecond}}, WithPlacer(placer))
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		path string
		err  error
	}
	done := make(chan result, 1)
	go func() { // the savepoint is deferred until the job runs: checkpoint 1
		path, err := j.Savepoint(waitCtx(t, 60*time.Second))
		done <- result{path, err}
	}()
	<-gate.stalled
	eventually(t, 20*time.Second, func() bool { c, _ := j.LatestCheckpoint(); return c.ID >= 3 }, "checkpoints after the savepoint")
	close(gate.release)
	r := <-done
	if r.err != nil {
		t.Fatalf("savepoint: %v", r.err)
	}
	cp, err := persistence.OpenCheckpoint(r.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range cp.Meta.Tasks {
		if task.Handle == "" {
			continue
		}
		if _, err := cp.ReadState(task.Handle); err != nil {
			t.Fatalf("savepoint %s: state of %s: %v", r.path, task.Vertex, err)
		}
	}
	j.Cancel()
	waitEmpty(t, tm)
}

// A peer lost is reported by the node that saw it; the job's error names
// the lost node first.
func TestMaster_peerLost_namesLostNode(t *testing.T) {
	a, b := actor.NewPID("10.0.0.1:1", "tm/r-a1"), actor.NewPID("10.0.0.2:1", "tm/r-a1")
	m := &master{agents: []*agentRef{{node: "n1", pid: a}, {node: "n2", pid: b}}}
	err := m.peerLost(m.agents[0], &wire.AgentFailed{Kind: wire.FailureKind_FAILURE_PEER_LOST, Error: "it terminated", Peer: pidOf(b)})
	if !errors.Is(err, ErrNodeLost) || !strings.Contains(err.Error(), "node n2: seen from node n1: it terminated") {
		t.Fatalf("peerLost = %v, want ErrNodeLost naming n2, seen from n1", err)
	}
}
