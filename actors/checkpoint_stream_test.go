package actors

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// stallingStore is a MemStore whose first write of the state of task
// stalls midway: it measures the state (a bbolt snapshot's full scan),
// writes part of it, then waits until the test releases it or its
// context ends. Meanwhile the bbolt snapshot's read transaction is open.
type stallingStore struct {
	*persistence.MemStore
	task    string
	once    sync.Once
	stalled chan struct{} // closed once the write stalls
	release chan struct{} // closed by the test
	ended   chan error    // what the stalled write returned
}

func newStallingStore(t *testing.T, task string) *stallingStore {
	s := &stallingStore{MemStore: persistence.NewMemStore("test", 3), task: task,
		stalled: make(chan struct{}), release: make(chan struct{}), ended: make(chan error, 1)}
	t.Cleanup(func() {
		select {
		case <-s.release:
		default:
			close(s.release)
		}
	})
	return s
}

func (s *stallingStore) WriteStateFrom(ctx context.Context, id int64, task string, src persistence.StateSource) (string, error) {
	first := false
	if task == s.task {
		s.once.Do(func() { first = true })
	}
	if !first {
		return s.MemStore.WriteStateFrom(ctx, id, task, src)
	}
	h, err := s.MemStore.WriteStateFrom(ctx, id, task, stallingSource{src, s})
	s.ended <- err
	return h, err
}

// stallingSource stalls its Encode after the first kilobyte.
type stallingSource struct {
	persistence.StateSource
	s *stallingStore
}

func (src stallingSource) Encode(ctx context.Context, w io.Writer) error {
	return src.StateSource.Encode(ctx, &stallingWriter{w: w, ctx: ctx, s: src.s})
}

type stallingWriter struct {
	w       io.Writer
	ctx     context.Context
	s       *stallingStore
	n       int
	stalled bool
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	if w.n += len(p); w.n > 1<<10 && !w.stalled {
		w.stalled = true
		close(w.s.stalled)
		select {
		case <-w.s.release:
		case <-w.ctx.Done():
			return 0, context.Cause(w.ctx)
		}
	}
	return w.w.Write(p)
}

func waitStalled(t *testing.T, s *stallingStore) {
	t.Helper()
	select {
	case <-s.stalled:
	case <-time.After(60 * time.Second):
		t.Fatal("no state write stalled")
	}
}

// distinctPipeline counts n records of distinct keys at parallelism 1,
// in an operator named "count" whose records processed add to processed;
// the source emits them at rate records/s (0: as fast as it can).
func distinctPipeline(n int64, rate float64, processed *atomic.Int64) (*operators.Pipeline, *operators.Collected[counted]) {
	p := operators.NewPipeline("distinct").SetParallelism(1)
	var opts []operators.SourceOption
	if rate > 0 {
		opts = append(opts, operators.RateLimit(rate))
	}
	src := operators.Generate(p, n, func(i int64) event { return event{Key: i, Seq: i} }, opts...)
	ks := operators.KeyBy(src, func(e event) int64 { return e.Key })
	out := operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[int64], e event, out operators.Collector[counted]) error {
		processed.Add(1)
		return countEvent(ctx, e, out)
	}).Name("count")
	return p, operators.Collect(out).Name("collect")
}

// countTask returns the coordinator's name of the subtask of p that runs
// the operator "count".
func countTask(t *testing.T, p *operators.Pipeline) string {
	t.Helper()
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range g.Vertices {
		if strings.Contains(v.Name, "count") {
			return string(taskID(v, 0))
		}
	}
	t.Fatal("no vertex runs count")
	return ""
}

func boltEngine(t *testing.T, dir string, store CheckpointStore, mod func(*Config)) *Engine {
	t.Helper()
	return newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return store, nil }
		c.StateBackend, c.StateDir = operators.StateBackendBolt, dir
		if mod != nil {
			mod(c)
		}
	})
}

// While the state of a bbolt subtask is being written (its read
// transaction open), the subtask goes on processing, past its write-back
// cache: its writes to the file do not wait for the snapshot. The output
// is exactly once.
func TestCheckpoint_bbolt_processingGoesOnWhileStateIsWritten(t *testing.T) {
	const n, after = 200_000, 100_000 // after > the cache's 65 536 entries
	var processed atomic.Int64
	p, sink := distinctPipeline(n, 0, &processed)
	store := newStallingStore(t, countTask(t, p))
	e := boltEngine(t, t.TempDir(), store, nil)
	j := submit(t, e, p)
	waitStalled(t, store)
	at := processed.Load()
	if at+after > n {
		t.Fatalf("the first checkpoint came after %d of %d records", at, n)
	}
	eventually(t, 2*time.Minute, func() bool { return processed.Load() >= at+after },
		"the subtask to process records while its state is written")
	close(store.release)
	if err := waitJob(t, j); err != nil {
		t.Fatal(err)
	}
	if err := <-store.ended; err != nil {
		t.Fatalf("the stalled write failed: %v", err)
	}
	checkCounts(t, sink.Values(), n, n)
}

// A checkpoint aborted while its state is written (it timed out) ends
// the write (the master tells the subtask of the abort), and with it the read transaction, while the job runs on;
// later checkpoints complete, and the output is exactly once.
func TestCheckpoint_bbolt_abortedWhileStateIsWritten(t *testing.T) {
	const n = 20_000
	var processed atomic.Int64
	p, sink := distinctPipeline(n, 0, &processed)
	store := newStallingStore(t, countTask(t, p))
	e := boltEngine(t, t.TempDir(), store, func(c *Config) {
		c.Checkpoint.Timeout = time.Second
		// an abort, not a failover, even if a loaded machine makes other
		// checkpoints time out too
		c.Checkpoint.TolerableFailures = 1 << 20
		// No checkpoint completes in the second after the abort, so the
		// stalled write ends by its own timeout (at most a second after
		// the trigger), not subsumed by the next checkpoint's completion
		// (checkpoint_upload_test.go tests that), whatever the delay
		// between the trigger and the write's start.
		c.Checkpoint.MinPause = time.Second
	})
	j := submit(t, e, p)
	waitStalled(t, store)
	select {
	case err := <-store.ended:
		// The master's abort notice (wire.CheckpointAborted) ends it
		// first: its timeout counts from the trigger, the write's own
		// from the write's start, later.
		if !errors.Is(err, errCheckpointAborted) {
			t.Fatalf("the stalled write ended with %v, want the checkpoint's abort", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the stalled write did not end when its checkpoint timed out")
	}
	if err := waitJob(t, j); err != nil {
		t.Fatal(err)
	}
	if j.Restarts() != 0 {
		t.Errorf("%d restarts, want none", j.Restarts())
	}
	if cp, ok := j.LatestCheckpoint(); !ok || cp.ID < 2 {
		t.Errorf("latest checkpoint %+v, want one after the aborted one", cp)
	}
	checkCounts(t, sink.Values(), n, n)
}

// Cancelling a job while a subtask's state is being streamed to the
// store ends that write: the subtask owns the goroutine and waits for it
// when it stops, and the bbolt read transaction it held is closed (else
// the state file could not be closed and removed).
func TestCheckpoint_bbolt_cancelDuringWrite_noLeak(t *testing.T) {
	dir := t.TempDir()
	var processed atomic.Int64
	p, _ := distinctPipeline(1<<40, 0, &processed)
	store := newStallingStore(t, countTask(t, p))
	e := boltEngine(t, dir, store, nil)
	j := submit(t, e, p)
	waitStalled(t, store)
	j.Cancel()
	if err := <-store.ended; !errors.Is(err, errSubtaskStopped) {
		t.Errorf("the stalled write ended with %v, want the subtask's stop", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wantNoStateFiles(t, dir) // the leak check follows, on cleanup
}

// A failure in the snapshot of an operator chained after a bbolt one
// gives up the bbolt snapshot already taken: the subtask stops (its state
// file closes) and the job recovers, exactly once.
func TestCheckpoint_bbolt_failureInLaterSnapshot_exactlyOnce(t *testing.T) {
	const n = 20_000
	dir := t.TempDir()
	var processed atomic.Int64
	p, sink := distinctPipeline(n, 40_000, &processed)
	f := &pointFault{point: operators.FaultSnapshot, op: "collect", attempt: 1}
	e := boltEngine(t, dir, persistence.NewMemStore("test", 3), func(c *Config) {
		c.Faults = f
		c.Restart = FixedDelay(3, time.Millisecond)
	})
	j := submit(t, e, p)
	f.job.Store(j)
	if err := waitJob(t, j); err != nil {
		t.Fatal(err)
	}
	if !f.fired.Load() || j.Restarts() != 1 {
		t.Fatalf("fault fired %v, restarts %d; want one failure in the sink's snapshot", f.fired.Load(), j.Restarts())
	}
	checkCounts(t, sink.Values(), n, n)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wantNoStateFiles(t, dir)
}
