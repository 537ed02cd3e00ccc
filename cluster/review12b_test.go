package cluster

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
)

// Review 12b: adversarial tests of failover and ended-job retention,
// each failing on a defect it names.

// startSlowLeaseNode starts a coordinator on store whose lease loop and
// takeover scan never tick during a test (Renew is an hour): the test
// drives the takeover itself, so nothing races it.
func startSlowLeaseNode(t *testing.T, name string, store Store) *Node {
	t.Helper()
	ecfg := actors.DefaultConfig()
	ecfg.Logger = actors.QuietLogger()
	n, err := StartNode(context.Background(), NodeConfig{Name: name, ActorAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:1", Slots: 2, Store: store, Timing: LocalTiming(), Engine: ecfg,
		Registry: review12Registry(), Lease: LeaseTiming{Lease: 3 * time.Hour, Renew: time.Hour, Margin: time.Hour}})
	if err != nil {
		t.Fatalf("start node %s: %v", name, err)
	}
	t.Cleanup(func() { closeWithin(t, n, name, 30*time.Second) })
	review12Poll(t, 10*time.Second, "node "+name+" to coordinate", n.coordinates)
	return n
}

// closeWithin closes n and fails the test, with every goroutine's stack,
// if Close has not returned within d: a node that cannot close (a lock
// never released, a job that never stops) fails its test with the
// evidence rather than hanging the package until its timeout. Only then
// is Close's goroutine left behind; the test has failed already.
func closeWithin(t *testing.T, n *Node, name string, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.Close()
	}()
	select {
	case <-done:
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("node %s did not close within %v; goroutines:\n%s", name, d, buf)
	}
}

// review12Entry returns the node's entry of job id, failing the test if
// the node has none. The service's mu is released before any failure,
// so that the node can still close.
func review12Entry(t *testing.T, n *Node, id string) *jobEntry {
	t.Helper()
	n.svc.mu.Lock()
	e := n.svc.jobs[id]
	n.svc.mu.Unlock()
	if e == nil || e.job == nil {
		t.Fatalf("node %s runs no job %s", n.svc.self, id)
	}
	return e
}

// A job master whose job was taken over by another node (n2, at the next
// epoch) and whose own job then ends before its lease loop notices (the
// job finished, or failed as superseded) finds, writing the end, that
// the record is n2's. It must give the job up as a renewal would (fence):
// its stale entry kept the job "run here" for good, so that this node,
// coordinating, never took the job over again once n2 was gone too — the
// job hung, its record live with a lease long run out — and its API
// showed the stale attempt's end instead of the record.
func TestReview12b_endOfATakenOverJobDoesNotBlockTakeover(t *testing.T) {
	store, err := OpenFileStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	n := startSlowLeaseNode(t, "n1", store)
	gate := make(chan struct{})
	review12Gate.Store(&gate)
	gateOpen := false
	t.Cleanup(func() {
		review12Gate.Store(nil)
		if !gateOpen {
			close(gate)
		}
	})
	blocked := review12Blocked.Load()
	ctx := context.Background()
	id, err := n.Submit(ctx, JobRequest{Pipeline: "review12", Params: map[string]string{"count": "5"}})
	if err != nil {
		t.Fatal(err)
	}
	review12Poll(t, 30*time.Second, "the job to run", func() bool { return review12Blocked.Load() > blocked })
	// The stale attempt's handle, taken while the gate holds its map:
	// once the gate opens it ends and the node gives its entry up (the
	// behaviour under test), so the entry is gone by the time the test
	// would look again.
	job := review12Entry(t, n, id).job

	// n2 takes the job over at epoch 2 (n1 was cut off), then dies at
	// once: its lease has run out.
	recs := records{store: store.Jobs()}
	rec, rev, err := recs.get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Owner, rec.Epoch, rec.LeaseUntil, rec.State = "n2", rec.Epoch+1, time.Now(), StateRunning
	if _, err := recs.update(ctx, rec, rev); err != nil {
		t.Fatal(err)
	}

	// n1's stale attempt ends by itself before its lease loop looks.
	review12Gate.Store(nil)
	close(gate)
	gateOpen = true
	select {
	case <-job.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the stale attempt did not end")
	}

	// n1 coordinates: it must take the job over from the dead n2.
	if !review12Within(10*time.Second, func() bool {
		n.svc.takeOver()
		rec := review12Record(t, store, id)
		return rec.Owner == "n1" && rec.Epoch == 3
	}) {
		rec := review12Record(t, store, id)
		n.svc.mu.Lock()
		_, kept := n.svc.jobs[id]
		n.svc.mu.Unlock()
		t.Fatalf("the coordinator never took over the job that n2 (dead, lease run out) owned: record owner %s epoch %d state %s; "+
			"n1 keeps its stale entry: %v", rec.Owner, rec.Epoch, rec.State, kept)
	}
}

// A job this node lost (fenced) is remembered only until its local job
// has stopped (so that the node does not take it again while it still
// runs here). Only a takeover scan that meets the job's record again
// forgot it: one whose record the new owner ended stayed, job handle,
// graph and all, for as long as the node lives — a node partitioned
// now and then leaked a job each time.
func TestReview12b_fencedJobIsForgottenOnceStopped(t *testing.T) {
	store, err := OpenFileStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	n := startSlowLeaseNode(t, "n1", store)
	ctx := context.Background()
	id, err := n.Submit(ctx, JobRequest{Pipeline: "review12", Params: map[string]string{"count": "1000000", "rate": "100"}})
	if err != nil {
		t.Fatal(err)
	}
	recs := records{store: store.Jobs()}
	// n2 takes the job over (n1 was cut off), and ends it.
	rec, rev, err := recs.get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Owner, rec.Epoch, rec.State, rec.Ended = "n2", rec.Epoch+1, StateFinished, time.Now()
	if _, err := recs.update(ctx, rec, rev); err != nil {
		t.Fatal(err)
	}
	e := review12Entry(t, n, id)
	n.svc.renew(e) // refused: n1 fences itself
	select {
	case <-e.job.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the fenced job did not stop")
	}
	n.svc.compactLocal(time.Now())
	n.svc.mu.Lock()
	left := len(n.svc.fenced)
	n.svc.mu.Unlock()
	if left != 0 {
		t.Fatalf("the node still holds %d fenced job(s) whose local job has stopped and whose record has ended", left)
	}
}
