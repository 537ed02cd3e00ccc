package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// Review 12: tests of the failover, each failing on a defect it names.

// review12Records counts the records the review12 pipeline's map saw, in
// every node of the test process: a job run twice counts twice.
var review12Records atomic.Int64

// review12Gate, when set, blocks the map of every review12 job until it
// closes; review12Blocked counts the records it held.
var (
	review12Gate    atomic.Pointer[chan struct{}]
	review12Blocked atomic.Int64
)

// review12Registry holds "review12": count numbers (rate per second, 0
// unlimited) through a counting map into a discarding sink.
func review12Registry() *actors.Registry {
	reg := actors.NewRegistry()
	reg.MustRegister(actors.PipelineSpec{Name: "review12",
		Params: []actors.Param{{Name: "count", Default: "200"}, {Name: "rate", Default: "0"}},
		Build: func(ps actors.Params) (*operators.Pipeline, error) {
			n, err := ps.Int("count")
			if err != nil {
				return nil, err
			}
			rate, err := ps.Float("rate")
			if err != nil {
				return nil, err
			}
			p := operators.NewPipeline("review12").SetParallelism(1)
			src := operators.Generate(p, int64(n), func(i int64) int64 { return i }, operators.RateLimit(rate))
			operators.Discard(operators.Map(src, func(i int64) int64 {
				review12Records.Add(1)
				if gate := review12Gate.Load(); gate != nil {
					review12Blocked.Add(1)
					<-*gate
				}
				return i
			}))
			return p, nil
		}})
	return reg
}

// startReview12Node starts a node on loopback on store; it is closed
// when the test ends (Close is idempotent).
func startReview12Node(t *testing.T, name string, store Store, join ...string) *Node {
	t.Helper()
	ecfg := actors.DefaultConfig()
	ecfg.Logger = actors.QuietLogger()
	n, err := StartNode(context.Background(), NodeConfig{Name: name, ActorAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:1", Join: join, Slots: 2, Store: store, Timing: LocalTiming(), Engine: ecfg,
		Registry: review12Registry()})
	if err != nil {
		t.Fatalf("start node %s: %v", name, err)
	}
	t.Cleanup(func() { _ = n.Close() })
	review12Poll(t, 10*time.Second, "node "+name+" to coordinate", func() bool { return len(join) > 0 || n.coordinates() })
	return n
}

func review12Poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// review12Within polls cond until it holds or d has passed; it reports
// whether it held.
func review12Within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// review12Record reads job id's record from store.
func review12Record(t *testing.T, store Store, id string) *jobRecord {
	t.Helper()
	rec, _, err := records{store: store.Jobs()}.get(context.Background(), id)
	if err != nil {
		t.Fatalf("record of %s: %v", id, err)
	}
	return rec
}

// flakyStore is a Store whose job store fails the writes of a job's end
// (a terminal state) while failEnds is set, as a store that does not
// answer for a moment does.
type flakyStore struct {
	Store
	jobs *flakyJobs
}

type flakyJobs struct {
	JobStore
	failEnds atomic.Bool
	refused  chan string // the id of each end write refused
}

var errReview12Store = errors.New("injected: the job store did not answer")

func (s *flakyStore) Jobs() JobStore { return s.jobs }

func (j *flakyJobs) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	var rec jobRecord
	if j.failEnds.Load() && json.Unmarshal(value, &rec) == nil && rec.terminal() {
		select {
		case j.refused <- key:
		default:
		}
		return 0, errReview12Store
	}
	return j.JobStore.Update(ctx, key, value, rev)
}

func newFlakyStore(t *testing.T) *flakyStore {
	fs, err := OpenFileStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return &flakyStore{Store: fs, jobs: &flakyJobs{JobStore: fs.Jobs(), refused: make(chan string, 16)}}
}

// Finding: a node that stops (close: SIGTERM, node start leaving) marks
// every lease lost and hands it back — also the lease of a job that has
// already ended but whose end is not recorded yet (awaitEnd is waiting
// for the service's lock, or backing off a store that did not answer).
// recordEnd then gives up (lease lost), handBack leaves the record
// "running" with a lease that has run out, and the next coordinator runs
// the finished job again.
func TestReview12_stoppingNodeHandsBackAFinishedJob(t *testing.T) {
	store := newFlakyStore(t)
	n1 := startReview12Node(t, "n1", store)
	store.jobs.failEnds.Store(true)
	before := review12Records.Load()
	id, err := n1.Submit(context.Background(), JobRequest{Pipeline: "review12", Params: map[string]string{"count": "200"}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-store.jobs.refused:
	case <-time.After(30 * time.Second):
		t.Fatal("the job's end was never written")
	}
	ran := review12Records.Load() - before
	// The store answers again while the node backs off its end write;
	// then the node stops. (A store that refuses every write until the
	// node has gone leaves the record as it was: a job without
	// checkpoints then runs again, as a job without checkpoints may.)
	store.jobs.failEnds.Store(false)
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	rec := review12Record(t, store, id)
	if rec.terminal() {
		return
	}
	// The record says the job lives: a new coordinator takes it over.
	startReview12Node(t, "n2", store)
	review12Poll(t, 20*time.Second, "n2 to take the job over", func() bool { return review12Record(t, store, id).Owner == "n2" })
	review12Poll(t, 20*time.Second, "the job's second run", func() bool { return review12Records.Load()-before > ran })
	after := review12Record(t, store, id)
	t.Fatalf("job %s finished on n1 (%d records) but n1's stop left its record %q with the lease handed back; "+
		"n2 took it over at epoch %d (state %q) and ran it again: %d records in all",
		id, ran, rec.State, after.Epoch, after.State, review12Records.Load()-before)
}

// The finding that a coordinator stopped on purpose failed its jobs
// (Leave reported the other members' endpoints terminated before Close
// handed the leases back) is tested with child processes, as a cluster
// of two Proto.Actor remotes must be under -race:
// cmd/node TestFailover_stoppedCoordinatorHandsOverAJobWithoutCheckpoints.

// endedJobs is a job store that also holds n records of jobs that ended
// long ago, each read taking latency (a network store's round trip).
type endedJobs struct {
	JobStore
	n       int
	latency time.Duration
}

type endedStore struct {
	Store
	jobs *endedJobs
}

func (s *endedStore) Jobs() JobStore { return s.jobs }

func (j *endedJobs) Keys(ctx context.Context) ([]string, error) {
	keys, err := j.JobStore.Keys(ctx)
	for i := range j.n {
		keys = append(keys, fmt.Sprintf("ended-%d", i))
	}
	return keys, err
}

func (j *endedJobs) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if !strings.HasPrefix(key, "ended-") {
		return j.JobStore.Get(ctx, key)
	}
	time.Sleep(j.latency) // the store's answer takes this long
	b, err := json.Marshal(&jobRecord{ID: key, Request: JobRequest{Pipeline: "review12"}, Owner: "gone", Epoch: 1,
		State: StateFinished, Submitted: time.Unix(1, 0), Ended: time.Unix(2, 0)})
	return b, 1, err
}

// Finding: the coordinator renews the leases of its own jobs on the same
// goroutine that scans the job store for jobs to take over, and the scan
// reads every record there is, one Get each, every Renew period — the
// records of ended jobs included, which are never removed. With a few
// thousand ended jobs on a store that answers in a millisecond, one scan
// outlasts Lease − Margin: the running jobs' leases go overdue, their
// checkpoints are refused, and the lease may run out for real — while
// the store is healthy.
func TestReview12_takeoverScanStarvesLeaseRenewal(t *testing.T) {
	fs, err := OpenFileStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	store := &endedStore{Store: fs, jobs: &endedJobs{JobStore: fs.Jobs(), n: 2500, latency: time.Millisecond}}
	n1 := startReview12Node(t, "n1", store)
	id, err := n1.Submit(context.Background(), JobRequest{Pipeline: "review12", CheckpointInterval: "100ms",
		Params: map[string]string{"count": "1000000", "rate": "100"}})
	if err != nil {
		t.Fatal(err)
	}
	n1.svc.mu.Lock()
	l := n1.svc.jobs[id].lease
	n1.svc.mu.Unlock()
	timing := n1.svc.timing
	var refused error
	review12Within(timing.Lease+3*time.Second, func() bool {
		refused = l.guard()
		return refused != nil
	})
	if refused != nil {
		t.Fatalf("the lease of running job %s went overdue on a healthy store (the scan of %d ended jobs' records, %v each, "+
			"holds up its renewal): %v", id, store.jobs.n, store.jobs.latency, refused)
	}
}

// Finding: a cancel asked through the record (CancelRequested: the job
// runs on a node that is not the coordinator) is cleared by the owner's
// next renewal, which rewrites the record from the job's local status,
// while the job is still stopping. If the owner dies before the job has
// ended and its end is recorded, the next coordinator finds a record
// "running" without the cancel request and resumes the job the user
// cancelled.
func TestReview12_renewalErasesCancelRequest(t *testing.T) {
	fs, err := OpenFileStore(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	n1 := startReview12Node(t, "n1", fs)
	id, err := n1.Submit(context.Background(), JobRequest{Pipeline: "review12",
		Params: map[string]string{"count": "1000000", "rate": "100"}})
	if err != nil {
		t.Fatal(err)
	}
	review12Poll(t, 20*time.Second, "the job running", func() bool {
		return review12Record(t, fs, id).State == StateRunning && review12Records.Load() > 0
	})
	// The job is slow to stop: its map is busy with a record.
	gate := make(chan struct{})
	t.Cleanup(func() { review12Gate.Store(nil); close(gate) })
	blocked := review12Blocked.Load()
	review12Gate.Store(&gate)
	review12Poll(t, 20*time.Second, "the map busy", func() bool { return review12Blocked.Load() > blocked })

	// The coordinator (not the owner, after a partition healed) is asked
	// to cancel the job: it marks the record.
	if err := n1.svc.requestCancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	erased := review12Within(3*n1.svc.timing.Renew+time.Second, func() bool {
		rec := review12Record(t, fs, id)
		return !rec.CancelRequested && !rec.terminal()
	})
	if erased {
		rec := review12Record(t, fs, id)
		t.Fatalf("the owner's renewal erased the cancel request while the job was still stopping: record %q, owner %s, "+
			"lease until %s, cancelRequested %v — a takeover now resumes the cancelled job",
			rec.State, rec.Owner, rec.LeaseUntil.Format(time.RFC3339Nano), rec.CancelRequested)
	}
}
