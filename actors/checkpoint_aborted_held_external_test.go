package actors_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
	"github.com/troupe-dev/troupe/testkit"
)

// snapshotIDs is a sink that records the checkpoints it is snapshotted
// for, and the values it is written.
type snapshotIDs struct {
	mu     sync.Mutex
	ids    []int64
	values []int64
}

func (s *snapshotIDs) Write(v int64, _ int64) error {
	s.mu.Lock()
	s.values = append(s.values, v)
	s.mu.Unlock()
	return nil
}

func (s *snapshotIDs) SnapshotState(id int64) (*operators.OperatorState, error) {
	s.mu.Lock()
	s.ids = append(s.ids, id)
	s.mu.Unlock()
	return nil, nil
}

// A checkpoint that times out while a source waits to take it (its chain
// holds the rest of a poll, which needs credit that a hung async call
// downstream keeps from it) has ended: once the source can take
// checkpoints again it takes only those still pending. Before, it took
// every aborted one in turn, and their barriers made every operator
// downstream snapshot them.
func TestAbortedCheckpoint_notTakenLaterByASourceHoldingItsPoll(t *testing.T) {
	const n, fan = 64, 100
	hang := newFirstCallHangs(t)
	sink := &snapshotIDs{}
	r := testkit.NewRunner(t, testkit.WithRunTimeout(90*time.Second), abortingCheckpoints(5*time.Millisecond, 50*time.Millisecond),
		testkit.WithConfig(func(c *actors.Config) { c.BatchSize, c.Credits = 32, 4 }))
	p := operators.NewPipeline("aborted-at-source").SetParallelism(1)
	operators.ToSink(fanIntoLookup(p, n, fan, hang.call), "ids",
		func(*operators.TaskContext) (operators.SinkWriter[int64], error) { return sink, nil })
	job := r.Start(p)
	hang.waitStarted(t)
	aborted := waitAborted(t, job, 3, "three checkpoints to time out while the source holds its poll")
	hang.release()
	if res := r.Wait(job); res.State != actors.JobFinished {
		t.Fatalf("%v: want finished", res)
	}
	sink.assertSkipped(t, aborted, n*fan)
}

// assertSkipped checks that the sink was snapshotted for none of the
// aborted checkpoints, and was written want records.
func (s *snapshotIDs) assertSkipped(t *testing.T, aborted []int64, want int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.ids {
		if slices.Contains(aborted, id) {
			t.Errorf("the sink was snapshotted for checkpoint %d, which had timed out (ended: %v; snapshotted: %v)", id, aborted, s.ids)
		}
	}
	if len(s.values) != want {
		t.Errorf("the sink got %d records, want %d", len(s.values), want)
	}
}

// abortingCheckpoints checkpoints every interval into memory, each
// aborted after timeout, and tolerates any number of failed ones: for
// tests of what aborts leave behind.
func abortingCheckpoints(interval, timeout time.Duration) testkit.RunnerOption {
	return testkit.WithConfig(func(c *actors.Config) {
		c.Checkpoint.Interval, c.Checkpoint.Timeout = interval, timeout
		c.Checkpoint.TolerableFailures = 1 << 20
		c.Checkpoint.Store = func(job, run string) (actors.CheckpointStore, error) {
			return persistence.NewMemStore(job+"/"+run, 3), nil
		}
	})
}

// waitAborted waits until n of job's checkpoints have ended without
// completing (what says why they should), and returns their ids.
func waitAborted(t *testing.T, job *actors.Job, n int, what string) []int64 {
	t.Helper()
	var aborted []int64
	testkit.Eventually(t, 30*time.Second, func() bool {
		aborted = aborted[:0]
		for _, c := range job.Checkpoints().History {
			if c.Status != actors.CheckpointCompleted {
				aborted = append(aborted, c.ID)
			}
		}
		return len(aborted) >= n
	}, "%s", what)
	return aborted
}
