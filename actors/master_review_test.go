package actors

// Tests of review10's findings on the job master's checkpoint
// coordination. Each comment says what went wrong and what Flink does.

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// restartFaults panics in operator "stage" of attempt 1 once fail1 is set
// and in attempt 2 once fail2 is set, and closes sink2 when the sink of
// attempt 2 takes its first record (its restore has run by then).
type restartFaults struct {
	fail1, fail2 atomic.Bool
	fired1       atomic.Bool
	fired2       atomic.Bool
	sink2        chan struct{}
	sink2Once    sync.Once
}

func (f *restartFaults) BeforeRecord(op operators.TaskInfo) {
	switch {
	case op.Operator == "stage" && op.Attempt == 1 && f.fail1.Load() && f.fired1.CompareAndSwap(false, true):
		panic("injected fault in attempt 1")
	case op.Operator == "stage" && op.Attempt == 2 && f.fail2.Load() && f.fired2.CompareAndSwap(false, true):
		panic("injected fault in attempt 2")
	case op.Operator == "sink" && op.Attempt == 2:
		f.sink2Once.Do(func() { close(f.sink2) })
	}
}

// Finding 1 (records lost). A restart while checkpoint n's metadata
// commit is in flight restores checkpoint n-1 (n is not durable yet).
// The restored file sink then removes, as orphans, every pending part
// file that n-1 does not list — among them n's pending file. The commit
// then succeeds: n is complete, the newest checkpoint of the run
// (Coordinator.Reset leaves a checkpoint being written alone, by design).
// If the job fails again before it completes a checkpoint of its own, the
// next attempt restores n, whose sink part file is gone: the sink takes
// it as committed (partGone, with a warning) and the sources resume after
// epoch n, so epoch n's records are never committed.
//
// Flink never restores a checkpoint older than one that can still
// complete: a restart first settles the checkpoints being finalised (or
// discards them, so that they never count as complete), then restores the
// latest completed one. Expected: every record committed exactly once.
func TestReview_restartDuringMetadataCommit_fileSinkLosesEpoch(t *testing.T) {
	const n = 20000
	g, store := gatedDirStore(t)
	g.hold = func(m *persistence.Metadata) bool { return !m.Savepoint && m.ID >= 2 }
	faults := &restartFaults{sink2: make(chan struct{})}
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Checkpoint.Store = store
		c.Restart = FixedDelay(5, time.Millisecond)
		c.Faults = faults
		c.BatchSize = 64
	})
	out := filepath.Join(t.TempDir(), "out")
	p := operators.NewPipeline("restart-commit")
	src := operators.Generate(p, n, func(i int64) event { return event{Key: i % 7, Seq: i} }, operators.RateLimit(4000))
	operators.WriteFiles(operators.Map(src, func(e event) event { return e }).Name("stage"), out).Name("sink")
	j := submit(t, e, p)
	defer j.Cancel()

	if id := <-g.held; id != 2 {
		t.Fatalf("held the commit of checkpoint %d, want 2", id)
	}
	faults.fail1.Store(true) // attempt 1 fails while checkpoint 2 is being committed
	// Unfixed, attempt 2 restores checkpoint 1 and its sink cleans up;
	// fixed, the restart waits for checkpoint 2's commit.
	eventually(t, 20*time.Second, func() bool {
		select {
		case <-faults.sink2:
			return true
		default:
		}
		var waiting bool
		j.inspect(func(m *master) { waiting = m.state == masterAwaitingCommit })
		return waiting
	}, "attempt 2 to restore, or its restart to wait for checkpoint 2's commit")
	g.next() // checkpoint 2 completes now: the newest of the run
	eventually(t, 20*time.Second, func() bool { c, _ := j.LatestCheckpoint(); return c.ID == 2 }, "checkpoint 2 to complete")
	faults.fail2.Store(true) // attempt 2 fails before any checkpoint of its own completes (3's commit is held)
	eventually(t, 20*time.Second, func() bool { return j.Restarts() >= 2 }, "the second restart")
	g.open()
	if err := waitJob(t, j); err != nil {
		t.Fatal(err)
	}
	seen, hidden := readEvents(t, out)
	if len(hidden) > 0 {
		t.Logf("hidden files left: %v", hidden)
	}
	checkEventsOnce(t, seen, n)
}

// gateAfterSnapshot counts the records of operator "stage" and notes how
// many it had seen when operator "sink" snapshotted for the first time;
// the next record of "stage" after that blocks until release is closed.
type gateAfterSnapshot struct {
	seen     atomic.Int64
	atSnap   atomic.Int64
	snapped  atomic.Bool
	blocked  chan struct{}
	release  chan struct{}
	blockOne sync.Once
}

func (g *gateAfterSnapshot) BeforeRecord(op operators.TaskInfo) {
	if op.Operator != "stage" {
		return
	}
	if g.snapped.Load() {
		g.blockOne.Do(func() {
			close(g.blocked)
			<-g.release
		})
	}
	g.seen.Add(1)
}

func (g *gateAfterSnapshot) At(point operators.FaultPoint, op operators.TaskInfo) error {
	if point == operators.FaultSnapshot && op.Operator == "sink" && !g.snapped.Load() {
		g.atSnap.Store(g.seen.Load())
		g.snapped.Store(true)
	}
	return nil
}

// Finding 5 (a stopped job's last output never committed).
// StopWithSavepoint returns once the savepoint is complete and then
// cancels the job. The savepoint's completion reaches the sinks as an
// ordinary (user) message, the cancel as Proto.Actor's Stop, a system
// message that overtakes every user message queued: a sink subtask busy
// when the savepoint completes is stopped before it hears of the
// completion, and the savepoint's epochs stay pending for ever (unless the
// user resumes from that very savepoint). Here nothing of the job's
// output is ever committed.
//
// `node run --state-dir` stops with a savepoint on SIGTERM: the output
// stays hidden until the same command is run again.
//
// Flink's stop-with-savepoint is synchronous: the tasks wait for the
// savepoint's notifyCheckpointComplete, so two-phase-commit sinks commit
// everything up to the savepoint, before the job ends. Expected: every
// record before the savepoint's barrier is committed when
// StopWithSavepoint returns.
func TestReview_stopWithSavepoint_lastEpochNeverCommitted(t *testing.T) {
	gate := &gateAfterSnapshot{blocked: make(chan struct{}), release: make(chan struct{})}
	g, store := gatedDirStore(t)
	g.hold = func(m *persistence.Metadata) bool { return m.Savepoint }
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = time.Hour // only the savepoint
		c.Checkpoint.Store = store
		c.Faults = gate
		c.BatchSize = 16
	})
	p := operators.NewPipeline("stop-commit")
	src := operators.Generate(p, -1, func(i int64) event { return event{Key: i % 7, Seq: i} }, operators.RateLimit(2000))
	sink := operators.Collect(operators.Map(src, func(e event) event { return e }).Name("stage")).Name("sink")
	j := submit(t, e, p)
	eventually(t, 20*time.Second, func() bool { return gate.seen.Load() > 100 }, "records to flow")

	done := savepointAsync(j, true)
	<-g.held       // the savepoint's commit waits until
	<-gate.blocked // the sink's subtask, past the savepoint's barrier, is busy with a record
	g.open()
	eventually(t, 20*time.Second, func() bool { _, ok := j.LatestCheckpoint(); return ok }, "the savepoint to complete")
	// Today the cancel follows at once: wait until the master has sent
	// the subtasks their Stop. A fixed master waits for the sinks' commit
	// instead and never stops them while the sink is blocked; the poll
	// then gives up after a while, without failing, and lets it go on.
	until := time.Now().Add(3 * time.Second)
	eventually(t, 20*time.Second, func() bool {
		var stopping bool
		j.inspect(func(m *master) { stopping = m.state.goingDown() })
		return stopping || time.Now().After(until)
	}, "the cancel to stop the subtasks")
	close(gate.release)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	checkRestorable(t, r.path)
	if got, want := len(sink.Values()), gate.atSnap.Load(); int64(got) != want {
		t.Fatalf("after StopWithSavepoint returned, %d records are committed; want the %d before the savepoint's barrier", got, want)
	}
}

// Finding 7 (a hang). Job.Cancel — and with it Engine.Close — waits for
// the checkpoint store: the master closes its metadata writer in its own
// Receive (checkpointer.close → metadataWriter.close), which waits for
// the commit under way to return. A store that hangs (an NFS mount that
// stopped answering, a NATS outage without a deadline) hangs the cancel,
// the master actor, and every caller of Cancel, Wait or Engine.Close,
// for ever.
//
// Flink finalises checkpoints on an I/O executor: cancelling a job never
// waits for a checkpoint's storage (and its task cancellation has a
// watchdog). Expected: Cancel returns promptly; the commit under way is
// abandoned (a savepoint caller gets an error) and its goroutine is left
// to the store's own timeout. (Fixed, a savepoint caller gets the store's
// answer when it comes, or gives up with its context.)
func TestReview_cancelWaitsForAStuckMetadataCommit(t *testing.T) {
	g, _, j := jobWithStuckCommit(t)
	if !returnsWithin(5*time.Second, j.Cancel) {
		g.open() // let the test end
		t.Fatalf("Job.Cancel did not return within 5s while the checkpoint store hung in a metadata commit")
	}
	// The store answers again: the abandoned commit returns and its
	// goroutine ends (the engine's close waits for it, and the test's
	// cleanup checks that no goroutine is left).
	g.open()
}

// Finding 7, the engine's side: Engine.Close waits for the metadata
// commits that ended jobs left under way, for writerGrace at most, then
// returns although the store still holds one.
func TestEngine_Close_boundedByAStuckMetadataCommit(t *testing.T) {
	g, e, _ := jobWithStuckCommit(t)
	start := time.Now()
	if !returnsWithin(writerGrace+5*time.Second, func() { _ = e.Close() }) {
		g.open()
		t.Fatalf("Engine.Close did not return within %v while the checkpoint store hung in a metadata commit", writerGrace+5*time.Second)
	}
	if waited := time.Since(start); waited < writerGrace {
		t.Fatalf("Engine.Close returned after %v, before the writer returned and before its grace of %v", waited, writerGrace)
	}
	g.open() // the writer's goroutine ends now (the cleanup checks it)
	// Its commit writes into the test's directory: let it end before the
	// directory is removed (RemoveAll failed on a file written meanwhile).
	eventually(t, 20*time.Second, func() bool { return g.commitsRunning() == 0 }, "the held commit to end")
}

// jobWithStuckCommit runs an unbounded job whose checkpoint store stops
// answering in the middle of its first metadata commit, and returns once
// it has.
func jobWithStuckCommit(t *testing.T) (*gatedStore, *Engine, *Job) {
	t.Helper()
	g, store := gatedDirStore(t)
	g.hold = func(*persistence.Metadata) bool { return true }
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Checkpoint.Store = store
		c.BatchSize = 64
	})
	p, _ := countPipeline(-1, 61, 5000)
	j := submit(t, e, p)
	<-g.held
	return g, e, j
}

// Finding 2 (output committed past a stop-with-savepoint's savepoint).
// StopWithSavepoint promises that sinks commit nothing past its
// savepoint (periodic checkpoints are suspended). But the sources keep
// running after the savepoint's barrier, and if they finish before the
// savepoint completes, master.onFinished sees the suspension, skips the
// final checkpoint and goes straight to the final commit: every sink
// commits everything (operators.EndOfJob), past the savepoint. The
// savepoint then completes and its path is returned: resuming from it
// (what the caller took it for) commits the records after it a second
// time. `node run --state-dir` does exactly that: SIGTERM stops the job
// with a savepoint, the run is not marked finished, and the next run of
// the same command resumes from that savepoint.
//
// Flink stops the sources at a stop-with-savepoint's barrier (the
// savepoint is synchronous) and fails the stop if the job finishes
// first. Expected: either StopWithSavepoint fails, or what is committed
// is exactly what precedes the savepoint.
func TestReview_stopWithSavepoint_jobFinishingCommitsPastTheSavepoint(t *testing.T) {
	const n = 2000
	g, store := gatedDirStore(t)
	g.hold = func(m *persistence.Metadata) bool { return m.Savepoint }
	gate := &gateAfterSnapshot{blocked: make(chan struct{}), release: make(chan struct{})}
	close(gate.release) // count only, never block
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = time.Hour // only the savepoint
		c.Checkpoint.Store = store
		c.Faults = gate
		c.BatchSize = 16
	})
	pipeline := func(into *operators.Collected[event]) (*operators.Pipeline, *operators.Collected[event]) {
		p := operators.NewPipeline("stop-finish")
		src := operators.Generate(p, n, func(i int64) event { return event{Key: i % 7, Seq: i} }, operators.RateLimit(4000))
		stage := operators.Map(src, func(e event) event { return e }).Name("stage")
		if into == nil {
			return p, operators.Collect(stage).Name("sink")
		}
		return p, operators.CollectTo(stage, into).Name("sink")
	}
	p, sink := pipeline(nil)
	j := submit(t, e, p)
	eventually(t, 20*time.Second, func() bool { return gate.seen.Load() > 100 }, "records to flow")

	done := savepointAsync(j, true)
	<-g.held // the savepoint's metadata commit is slow; the sources go on and finish
	until := time.Now().Add(5 * time.Second)
	eventually(t, 20*time.Second, func() bool { return len(sink.Values()) == n || time.Now().After(until) },
		"the job to finish and commit (today), or a while (a fixed engine commits nothing past the savepoint)")
	g.open()
	r := <-done
	if r.err != nil {
		t.Logf("StopWithSavepoint failed, as it may: %v", r.err)
		return
	}
	if got, want := int64(len(sink.Values())), gate.atSnap.Load(); got != want {
		t.Fatalf("StopWithSavepoint returned savepoint %s, but %d records are committed, %d of them after it: "+
			"resuming from it commits those again", r.path, got, got-want)
	}
	// Resumed from the savepoint, the job commits the rest: every record
	// once over both runs.
	p2, _ := pipeline(sink)
	if err := waitJob(t, submit(t, e, p2, RestoreFrom(r.path))); err != nil {
		t.Fatal(err)
	}
	checkEventsOnce(t, seqCounts(sink.Values()), n)
}

// Finding 5 (review10; already fixed on main, kept as a regression test).
// Config.Restart says: "Default: no restart (the job fails); with
// checkpointing, ExponentialDelay(1 s, 1 min, 1.5, 0.1)". An engine
// configured as documented (DefaultConfig plus Checkpoint.Interval) must
// restart from its checkpoint at its first subtask failure.
//
// Flink with checkpointing on and no restart strategy configured
// restarts (exponential delay since 1.19). Expected: the job restarts
// from its checkpoint and finishes.
func TestReview_defaultRestartWithCheckpoints(t *testing.T) {
	fault := &faultAfterCheckpoint{op: "count", after: 500}
	e := newTestEngine(t, func(c *Config) { // DefaultConfig, as documented
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Faults = fault
		c.BatchSize = 64
	})
	// An unbounded source: the job cannot end before the fault fires
	// (after its first checkpoint), however slow the machine; once it has
	// restarted it is stopped gracefully.
	p, _ := countPipeline(-1, 61, 10000)
	j := submit(t, e, p)
	fault.job.Store(j)
	eventually(t, 30*time.Second, func() bool { return j.Restarts() > 0 || j.State().Terminal() }, "the fault and a restart")
	j.Stop()
	err := waitJob(t, j)
	if !fault.fired.Load() {
		t.Fatal("the fault did not fire")
	}
	if err != nil {
		t.Fatalf("with checkpoints on and the default restart strategy, a failure after a checkpoint ended the job (%d restarts): %v", j.Restarts(), err)
	}
}

// Finding 8 (a savepoint fails for nothing). Once a subtask's senders
// have all finished, the master triggers it itself (Aligner.Expect) for
// every checkpoint it triggers, and catchUp replays the pending ones. But
// "finished" only means the sender has sent everything: its records and
// barriers may still wait, unconsumed, in the receiver's input (here an
// async operator at capacity holds its input back). A periodic
// checkpoint triggered then reaches the receiver ahead of the savepoint's
// barrier still queued in its input; Expect of the newer checkpoint
// cancels the savepoint's alignment (Result.Cancelled), the subtask
// declines the savepoint as subsumed, and Job.Savepoint fails — a
// savepoint is never subsumed by a checkpoint anywhere else.
//
// Flink triggers a task only once its predecessors have finished, and a
// Flink task finishes only once its downstream has processed all its data
// (EndOfData, FLIP-147), so no barrier can be queued behind such a
// trigger. Expected: the savepoint completes.
func TestReview_savepointCancelledByCheckpointTriggeredBehindItsQueuedBarrier(t *testing.T) {
	release := make(chan struct{})
	called := make(chan struct{}, 1)
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Credits = 256 // the source can send all its output while the async operator takes none
		c.BatchSize = 8
	})
	p := operators.NewPipeline("expect-overtakes")
	src := operators.Generate(p, 100, func(i int64) event { return event{Key: i % 7, Seq: i} }, operators.RateLimit(400))
	slow := operators.AsyncMap(src.Rebalance(), func(ctx context.Context, e event) ([]event, error) {
		select {
		case called <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []event{e}, nil
	}, operators.AsyncConfig[event, event]{Capacity: 1}).Name("slow")
	operators.Collect(slow)
	j := submit(t, e, p)
	defer j.Cancel()
	<-called // the async operator is at capacity: its input waits in its gate from now on

	done := savepointAsync(j, false)
	// Today the savepoint fails once the source has finished and the next
	// periodic checkpoint is triggered (well under a second). A fixed
	// engine keeps it waiting for the async operator: after a while the
	// poll gives up, without failing, and releases the operator.
	var r savepointResult
	until := time.Now().Add(5 * time.Second)
	eventually(t, 20*time.Second, func() bool {
		select {
		case r = <-done:
			return true
		default:
			return time.Now().After(until)
		}
	}, "the savepoint to fail, or a while")
	close(release)
	if r == (savepointResult{}) {
		r = <-done
	}
	if r.err != nil {
		t.Fatalf("Savepoint: %v", r.err)
	}
}

// Finding 6 (state larger than memory cannot be restored). A restore
// reads every subtask's whole state into the job master's memory before
// deploying: planRestore → planFrom → readStates reads each state file
// (ReadState), decodes it and keeps every keyed snapshot, for every
// subtask of every operator, in the plan — in one goroutine, the
// master's, blocking it meanwhile. The bbolt backend exists for state
// larger than memory and streams its snapshots out (BoltSnapshot), but a
// job whose bbolt state exceeds the node's memory cannot restart: the
// master runs out of memory on every attempt (and a resumed run on every
// start).
//
// Flink's JobMaster assigns state handles only; each task reads its own
// key groups from checkpoint storage (RocksDB restores stream files into
// the new instance). Expected: planning a restore allocates a small
// fraction of the state it plans; the state bytes are read by the
// subtasks that own them.
func TestReview_restorePlanReadsAllStateIntoTheMaster(t *testing.T) {
	const par, perTask = 3, 8 << 20
	p := operators.NewPipeline("big").SetParallelism(par)
	operators.Discard(operators.FromSlice(p, []int{1}).Name("src"))
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	v := g.Vertices[0]
	states := make([]*operators.OperatorState, par)
	for i := range states {
		states[i] = &operators.OperatorState{Keyed: bigKeyedSnapshot(t, g.MaxParallelism, perTask)}
	}
	cp := writeStates(t, g, v, false, states...) // metadata as the review wrote it: no summaries
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	plan, err := planFrom(cp, g)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(plan)
	if alloc, state := after.TotalAlloc-before.TotalAlloc, uint64(par*perTask); alloc > state/4 {
		t.Fatalf("planning the restore allocated %d MB in the job master for %d MB of state: "+
			"it reads every subtask's state into the master's memory", alloc>>20, state>>20)
	}
}

// bigKeyedSnapshot returns a heap backend's snapshot of one value state
// holding about size bytes.
func bigKeyedSnapshot(t *testing.T, maxPar, size int) *persistence.KeyedSnapshot {
	t.Helper()
	value := strings.Repeat("x", 4096)
	return valueSnapshot(t, maxPar, 0, int64(size/4096), func(int64) string { return value })
}

// Finding 2, the other outcome: the job finishes while its stop's
// savepoint is being committed, and that commit fails. The stop fails,
// and the job's end, held meanwhile, goes on: the final checkpoint and
// the final commit, every record committed once.
func TestStopWithSavepoint_failsAfterTheJobFinished_jobFinishes(t *testing.T) {
	const n = 2000
	g, store := gatedDirStore(t)
	g.hold = func(m *persistence.Metadata) bool { return m.Savepoint }
	g.fail = func(m *persistence.Metadata) bool { return m.Savepoint }
	gate := &gateAfterSnapshot{blocked: make(chan struct{}), release: make(chan struct{})}
	close(gate.release) // count only, never block
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = time.Hour // only the savepoint and the final checkpoint
		c.Checkpoint.Store = store
		c.Faults = gate
		c.BatchSize = 16
	})
	p := operators.NewPipeline("stop-fails")
	src := operators.Generate(p, n, func(i int64) event { return event{Key: i % 7, Seq: i} }, operators.RateLimit(4000))
	sink := operators.Collect(operators.Map(src, func(e event) event { return e }).Name("stage")).Name("sink")
	j := submit(t, e, p)
	eventually(t, 20*time.Second, func() bool { return gate.seen.Load() > 100 }, "records to flow")
	done := savepointAsync(j, true)
	<-g.held
	eventually(t, 20*time.Second, func() bool {
		var held bool
		j.inspect(func(m *master) { held = m.state == masterRunning && m.running == 0 })
		return held
	}, "every subtask to finish while the savepoint's commit is held")
	if len(sink.Values()) != 0 {
		t.Fatalf("%d records committed while the stop's savepoint was pending", len(sink.Values()))
	}
	g.open() // the savepoint's commit fails
	if r := <-done; !errors.Is(r.err, ErrSavepoint) {
		t.Fatalf("StopWithSavepoint: %v, want ErrSavepoint", r.err)
	}
	if err := waitJob(t, j); err != nil {
		t.Fatalf("the job, finished while its stop failed: %v; want it to finish", err)
	}
	checkEventsOnce(t, seqCounts(sink.Values()), n)
}

// panicAtNotify panics once, in operator op, when it is told of a
// completed checkpoint.
type panicAtNotify struct {
	op    string
	fired atomic.Bool
}

func (f *panicAtNotify) BeforeRecord(operators.TaskInfo) {}

func (f *panicAtNotify) At(point operators.FaultPoint, op operators.TaskInfo) error {
	if point == operators.FaultNotifyComplete && op.Operator == f.op && f.fired.CompareAndSwap(false, true) {
		panic("injected fault while committing up to the stop's savepoint")
	}
	return nil
}

// Finding 3, a failure in the stop's commit round: the savepoint is
// complete when a subtask fails on its completion. The job stops (never
// restarts: the user stopped it), the caller gets the savepoint, and a
// run resumed from it commits what the failed sink could not: every
// record once over both runs.
func TestStopWithSavepoint_failureWhileCommitting_stopsAndResumeCommits(t *testing.T) {
	const n = 4000
	fault := &panicAtNotify{op: "sink"}
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = time.Hour // only the savepoint
		c.Restart = FixedDelay(3, time.Millisecond)
		c.Faults = fault
		c.BatchSize = 16
	})
	pipeline := func(into *operators.Collected[event]) (*operators.Pipeline, *operators.Collected[event]) {
		p := operators.NewPipeline("stop-fault")
		src := operators.Generate(p, n, func(i int64) event { return event{Key: i % 7, Seq: i} }, operators.RateLimit(4000))
		if into == nil {
			return p, operators.Collect(src).Name("sink")
		}
		return p, operators.CollectTo(src, into).Name("sink")
	}
	p, sink := pipeline(nil)
	j := submit(t, e, p)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path, err := j.StopWithSavepoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !fault.fired.Load() {
		t.Fatal("the fault did not fire: the test proves nothing")
	}
	if err := waitJob(t, j); !errors.Is(err, ErrCancelled) || j.Restarts() != 0 {
		t.Fatalf("the stopped job ended with %v after %d restarts; want it cancelled, never restarted", err, j.Restarts())
	}
	p2, _ := pipeline(sink)
	if err := waitJob(t, submit(t, e, p2, RestoreFrom(path))); err != nil {
		t.Fatal(err)
	}
	checkEventsOnce(t, seqCounts(sink.Values()), n)
}

// savepointAsync takes a savepoint of j (with stop, stops the job with
// it) in the background, with a minute's deadline; the result comes on
// the channel.
func savepointAsync(j *Job, stop bool) <-chan savepointResult {
	done := make(chan savepointResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var r savepointResult
		if stop {
			r.path, r.err = j.StopWithSavepoint(ctx)
		} else {
			r.path, r.err = j.Savepoint(ctx)
		}
		done <- r
	}()
	return done
}

// seqCounts counts each event's sequence number.
func seqCounts(evs []event) map[int64]int {
	seen := map[int64]int{}
	for _, ev := range evs {
		seen[ev.Seq]++
	}
	return seen
}
