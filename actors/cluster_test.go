package actors

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// testCluster is the coordinator (node "coord") and child nodes.
type testCluster struct {
	e     *Engine
	tm    *TaskManager
	nodes map[string]*testNode
}

// startCluster starts child nodes with the given names beside the
// coordinator.
func startCluster(tb testing.TB, names ...string) *testCluster {
	tb.Helper()
	e, tm := coordinator(tb)
	c := &testCluster{e: e, tm: tm, nodes: map[string]*testNode{}}
	for _, name := range names {
		c.nodes[name] = startNode(tb, name)
	}
	return c
}

// tmOf returns the task manager of the named node ("coord" or a child).
func (c *testCluster) tmOf(name string) *actor.PID {
	if name == "coord" {
		return c.tm.PID()
	}
	return c.nodes[name].taskManager()
}

// placer deals slots round robin over the named nodes.
func (c *testCluster) placer(names ...string) *ringPlacer {
	p := &ringPlacer{}
	for _, name := range names {
		p.nodes = append(p.nodes, Slot{Node: name, TaskManager: c.tmOf(name)})
	}
	return p
}

func (c *testCluster) taskManagers() []*actor.PID {
	pids := []*actor.PID{c.tm.PID()}
	for _, n := range c.nodes {
		pids = append(pids, n.taskManager())
	}
	return pids
}

func (c *testCluster) submit(tb testing.TB, spec JobSpec, opts ...SubmitOption) *Job {
	tb.Helper()
	j, err := c.e.SubmitSpec(clusterRegistry(), spec, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(j.Cancel)
	return j
}

func waitEnd(tb testing.TB, j *Job) error {
	tb.Helper()
	err := j.Wait(waitCtx(tb, 60*time.Second))
	if errors.Is(err, context.DeadlineExceeded) {
		tb.Fatalf("job %s did not end; state %v", j.Name(), j.State())
	}
	return err
}

// A keyed count at parallelism 4 over three nodes: subtasks run on every
// node, the keyBy exchange crosses the network, and the result is
// exactly the single-node run's.
func TestCluster_keyedCountAcrossNodes(t *testing.T) {
	c := startCluster(t, "n1", "n2")
	const n, keys = 20_000, 61
	params := func(out string) map[string]string {
		return map[string]string{"n": fmt.Sprint(n), "keys": fmt.Sprint(keys), "out": out}
	}
	single := t.TempDir()
	j := c.submit(t, JobSpec{Pipeline: "keyed-count", Parallelism: 4, Params: params(single)})
	if err := waitEnd(t, j); err != nil {
		t.Fatal(err)
	}
	want := checkCounted(t, readCounted(t, single), n, keys)

	out := t.TempDir()
	j = c.submit(t, JobSpec{Pipeline: "keyed-count", Parallelism: 4, Params: params(out)},
		WithPlacer(c.placer("coord", "n1", "n2")))
	if err := waitEnd(t, j); err != nil {
		t.Fatal(err)
	}
	if got := j.Placement()[1].Nodes; strings.Join(got, ",") != "coord,n1,n2,coord" {
		t.Fatalf("count's subtasks on %v, want coord,n1,n2,coord", got)
	}
	if got := checkCounted(t, readCounted(t, out), n, keys); !maps.Equal(got, want) {
		t.Fatalf("final counts across nodes differ from the single node's:\n%v\n%v", got, want)
	}
	if st := c.nodes["n1"].stats(t); st.Remote.Batches == 0 {
		t.Fatalf("node n1 sent no batch over the network: %+v", st.Remote)
	}
	waitTaskManagersEmpty(t, c.taskManagers()...)
}

// A failure injected in a source subtask on a remote node (after a
// checkpoint completed) restarts the job from the checkpoint, whose
// state every node wrote to the shared store: every record is counted
// exactly once, and the cause names the node.
func TestCluster_remoteFailureRestoresCheckpoint(t *testing.T) {
	c := startCluster(t, "n1", "n2")
	const n, keys = 20_000, 61
	out := t.TempDir()
	// subtask 1 of the source makes 1, 5, 9, …: 8001 is its record, on n1
	j := c.submit(t, JobSpec{Pipeline: "keyed-count", Parallelism: 4,
		Params:     map[string]string{"n": fmt.Sprint(n), "keys": fmt.Sprint(keys), "out": out, "fail-at": "8001", "rate": "10000"},
		Checkpoint: &CheckpointConfig{Interval: 20 * time.Millisecond}, Restart: FixedDelay(2, 10*time.Millisecond)},
		WithPlacer(c.placer("coord", "n1", "n2")))
	if err := waitEnd(t, j); err != nil {
		t.Fatal(err)
	}
	var se *SubtaskError
	if err := j.Failure(); j.Restarts() != 1 || !errors.As(err, &se) || se.Node != "n1" || se.Vertex != "source" ||
		!strings.Contains(err.Error(), "injected failure at record 8001") {
		t.Fatalf("%d restarts, cause %v; want 1, the source's injected failure on node n1", j.Restarts(), err)
	}
	if cp, ok := j.LatestCheckpoint(); !ok || cp.ID < 2 {
		t.Fatalf("latest checkpoint %+v: want checkpoints before and after the restart", cp)
	}
	checkCounted(t, readCounted(t, out), n, keys)
	waitTaskManagersEmpty(t, c.taskManagers()...)
}

// The keyed count with a keyed actor for its counter, across three nodes
// with a failure on one: each node builds the actor operator from the
// registry, the actors' keyed state goes to the shared store with the
// checkpoints, and the restart restores it: every record is counted
// exactly once.
func TestCluster_keyedActorAcrossNodesRestoresCheckpoint(t *testing.T) {
	c := startCluster(t, "n1", "n2")
	const n, keys = 20_000, 61
	out := t.TempDir()
	j := c.submit(t, JobSpec{Pipeline: "keyed-count", Parallelism: 4,
		Params: map[string]string{"n": fmt.Sprint(n), "keys": fmt.Sprint(keys), "out": out, "fail-at": "8001",
			"rate": "10000", "counter": "actor"},
		Checkpoint: &CheckpointConfig{Interval: 20 * time.Millisecond}, Restart: FixedDelay(2, 10*time.Millisecond)},
		WithPlacer(c.placer("coord", "n1", "n2")))
	if err := waitEnd(t, j); err != nil {
		t.Fatal(err)
	}
	if got := j.Placement()[1].Nodes; strings.Join(got, ",") != "coord,n1,n2,coord" {
		t.Fatalf("count's subtasks on %v, want coord,n1,n2,coord", got)
	}
	if j.Restarts() != 1 {
		t.Fatalf("%d restarts (cause %v), want 1", j.Restarts(), j.Failure())
	}
	checkCounted(t, readCounted(t, out), n, keys)
	waitTaskManagersEmpty(t, c.taskManagers()...)
}

// A batch whose encoding is larger than the fragment cap crosses in
// several fragments and arrives intact, as one batch.
func TestCluster_bigBatchCrossesInFragments(t *testing.T) {
	c := startCluster(t, "n1", "n2")
	const n, size = 40, 100_000
	out := t.TempDir()
	j := c.submit(t, JobSpec{Pipeline: "big-records", Params: map[string]string{"n": fmt.Sprint(n), "size": fmt.Sprint(size), "out": out}},
		WithPlacer(c.placer("n1", "n2")))
	if err := waitEnd(t, j); err != nil {
		t.Fatal(err)
	}
	got := readChecked(t, out)
	seen := map[int64]bool{}
	for _, r := range got {
		if !r.OK || r.Len != size || seen[r.Seq] {
			t.Fatalf("record %+v: want each record once, %d bytes, intact", r, size)
		}
		seen[r.Seq] = true
	}
	if len(seen) != n {
		t.Fatalf("%d records arrived, want %d", len(seen), n)
	}
	for _, name := range []string{"n1", "n2"} {
		st := c.nodes[name].stats(t).Remote
		if st.Bytes <= testBatchBytes || st.Fragments <= st.Batches {
			t.Fatalf("node %s sent %+v: want batches above the %d-byte cap, in several fragments", name, st, testBatchBytes)
		}
	}
}

// A slow sink on one node backpressures the source on another through
// the remote channel's credits: what the source has emitted for the
// remote sink and the sink has not taken stays within the channel's
// credits (plus the batch being filled, the batch waiting for credit and
// the one being consumed), so the unbounded remote send queue cannot
// grow. The node's own count of messages in flight (RemoteStats) never
// passes its channels' credits, and comes back to zero with the job's
// end.
func TestCluster_slowRemoteSinkBackpressuresSource(t *testing.T) {
	c := startCluster(t, "n1", "n2")
	tag := uniqueTag(t)
	// slot 0 (source, emitted, sink 0) on n1; slot 1 (sink 1) on n2
	j := c.submit(t, JobSpec{Pipeline: "slow-sink", Params: map[string]string{"tag": tag, "delay": "200us"}},
		WithPlacer(c.placer("n1", "n2")))
	n1, n2 := c.nodes["n1"], c.nodes["n2"]
	eventually(t, 20*time.Second, func() bool { return n2.stats(t).Counters[tag+"/sunk-1"] > 0 }, "records at the remote sink")
	cfg := DefaultConfig()
	bound := int64((DefaultCredits + 3) * cfg.BatchSize)
	var first, last int64
	var maxInFlight int64
	var heap1, heap2 uint64
	var remote RemoteStats
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); <-tick.C {
		s1 := n1.stats(t) // first: the sink's count, read after, can only be higher
		s2 := n2.stats(t)
		toRemote := s1.Counters[tag+"/emitted"] / 2 // rebalance alternates, starting with sink 0
		sunk := s2.Counters[tag+"/sunk-1"]
		maxInFlight = max(maxInFlight, toRemote-sunk)
		if first == 0 {
			first = sunk
		}
		last = sunk
		heap1, heap2 = max(heap1, s1.HeapBytes), max(heap2, s2.HeapBytes)
		remote = s1.Remote
	}
	t.Logf("in flight to the remote sink at most %d records (bound %d); the sink took %d records in 1.5 s; heaps n1 %d MiB, n2 %d MiB; n1's remote channels %+v",
		maxInFlight, bound, last-first, heap1>>20, heap2>>20, remote)
	if maxInFlight > bound {
		t.Fatalf("%d records in flight to the remote sink, above credits' bound %d", maxInFlight, bound)
	}
	if last <= first {
		t.Fatalf("the remote sink made no progress (%d → %d)", first, last)
	}
	if remote.Channels != 1 || remote.CreditBound != DefaultCredits ||
		remote.MaxInFlight != DefaultCredits || remote.MaxInFlightBytes == 0 {
		t.Fatalf("n1's remote channels %+v: want one channel, its %d credits all in flight at some point", remote, DefaultCredits)
	}
	j.Cancel()
	waitTaskManagersEmpty(t, c.taskManagers()...)
	eventually(t, 10*time.Second, func() bool {
		r := n1.stats(t).Remote
		return r.Channels == 0 && r.CreditBound == 0 && r.InFlight == 0 && r.InFlightBytes == 0
	}, "n1's remote channels closed, nothing left in flight")
}

// A node killed while the job runs fails the attempt with a cause naming
// the node (its job agent's endpoint terminated); nothing of the job
// keeps running on the survivors.
func TestCluster_killedNodeFailsJob(t *testing.T) {
	c := startCluster(t, "n1", "n2")
	j := c.submit(t, JobSpec{Pipeline: "keyed-count", Restart: NoRestart(),
		Params: map[string]string{"n": "100000000", "out": t.TempDir(), "rate": "5000"}},
		WithPlacer(c.placer("n1", "n2")))
	eventually(t, 20*time.Second, func() bool { return c.nodes["n2"].stats(t).Remote.Batches > 0 }, "n2 sending batches")
	killed := time.Now()
	c.nodes["n2"].kill()
	err := waitEnd(t, j)
	if !errors.Is(err, ErrNodeLost) || !strings.Contains(err.Error(), "node n2") || j.State() != JobFailed {
		t.Fatalf("job ended %v with %v; want failed with ErrNodeLost naming node n2", j.State(), err)
	}
	failed := time.Since(killed)
	waitTaskManagersEmpty(t, c.tm.PID(), c.nodes["n1"].taskManager())
	t.Logf("job failed %v after the kill (%v); survivors empty %v after it", failed.Round(time.Millisecond), err, time.Since(killed).Round(time.Millisecond))
}

// Cancel stops every agent on every node: no task manager holds anything
// of the job afterwards.
func TestCluster_cancelLeavesTaskManagersEmpty(t *testing.T) {
	c := startCluster(t, "n1", "n2")
	out := t.TempDir()
	j := c.submit(t, JobSpec{Pipeline: "keyed-count", Parallelism: 3,
		Params: map[string]string{"n": "100000000", "out": out, "rate": "5000"}},
		WithPlacer(c.placer("coord", "n1", "n2")))
	for _, name := range []string{"n1", "n2"} {
		pid := c.tmOf(name)
		eventually(t, 20*time.Second, func() bool { return tmStatus(t, pid).SlotsUsed == 1 }, "a slot used on "+name)
	}
	j.Cancel()
	if err := waitEnd(t, j); !errors.Is(err, ErrCancelled) {
		t.Fatalf("job ended with %v, want cancelled", err)
	}
	waitTaskManagersEmpty(t, c.taskManagers()...)
}

// Records that the receiving node cannot decode fail the job with an
// error naming the channel, the operator and the node — the node does
// not crash.
func TestCluster_decodeErrorFailsJob(t *testing.T) {
	c := startCluster(t, "n1", "n2")
	// Record 1002 is source 0's 502nd, which its rebalance (starting with
	// sink 0) sends to sink 1: from n1 to n2.
	j := c.submit(t, JobSpec{Pipeline: "poison", Params: map[string]string{"n": "2000", "poison-at": "1002"}, Restart: NoRestart()},
		WithPlacer(c.placer("n1", "n2")))
	err := waitEnd(t, j)
	var se *SubtaskError
	if !errors.As(err, &se) || se.Node != "n2" || se.Vertex != "sink" || se.Subtask != 1 {
		t.Fatalf("job ended with %v; want sink 1 on n2 failed", err)
	}
	for _, part := range []string{"input channel 0", "(source)", "poisoned record"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %s", err, part)
		}
	}
	waitTaskManagersEmpty(t, c.taskManagers()...) // both nodes answer: neither crashed
}

// A savepoint of a job on one node resumes across nodes, and a savepoint
// of that resumes on one node again: the state every node wrote to the
// shared store is one checkpoint like any other. Every record is counted
// exactly once over the three runs, which share the output directory.
func TestCluster_savepointsMoveBetweenOneNodeAndCluster(t *testing.T) {
	c := startCluster(t, "n1", "n2")
	const n, keys = 30_000, 61
	out := t.TempDir()
	spec := JobSpec{Pipeline: "keyed-count", Parallelism: 3,
		Params:     map[string]string{"n": fmt.Sprint(n), "keys": fmt.Sprint(keys), "out": out, "rate": "5000"},
		Checkpoint: &CheckpointConfig{Interval: 50 * time.Millisecond}}
	stopped := func(j *Job) string {
		t.Helper()
		eventually(t, 20*time.Second, func() bool { _, ok := j.LatestCheckpoint(); return ok }, "a checkpoint")
		path, err := j.StopWithSavepoint(waitCtx(t, 30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	first := stopped(c.submit(t, spec))
	second := c.submit(t, spec, RestoreFrom(first), WithPlacer(c.placer("coord", "n1", "n2")))
	eventually(t, 10*time.Second, func() bool { return len(second.Placement()) > 0 }, "the restored job placed")
	if nodes := second.Placement()[0].Nodes; strings.Join(nodes, ",") != "coord,n1,n2" {
		t.Fatalf("the restored job's sources on %v, want coord,n1,n2", nodes)
	}
	third := c.submit(t, spec, RestoreFrom(stopped(second)))
	if err := waitEnd(t, third); err != nil {
		t.Fatal(err)
	}
	checkCounted(t, readCounted(t, out), n, keys)
	waitTaskManagersEmpty(t, c.taskManagers()...)
}
