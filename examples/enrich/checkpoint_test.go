package enrich

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
	"github.com/troupe-dev/troupe/persistence"
	"github.com/troupe-dev/troupe/testkit"
)

// With checkpoints on, a fault in the enrich operator while records are in
// flight restarts the job from its last checkpoint: the async operator's
// snapshot holds the records it had not emitted, which are called again,
// and the two-phase-commit sink commits every record exactly once.
func TestEnrich_checkpoints_faultInEnrichIsExactlyOnce(t *testing.T) {
	for _, tc := range []struct {
		mode  async.Mode
		order []testkit.CheckOption[Record]
	}{
		{async.Ordered, []testkit.CheckOption[Record]{testkit.InOrder[Record]()}},
		{async.Unordered, nil},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			svc := newFakeService(t, records, 7, 0, 3*time.Millisecond, withFlaky(8))
			r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond))
			r.Faults().FailAt(EnrichName, testkit.AtRecord(records/2))
			// Paced so that checkpoints complete before the fault.
			p, out := enrichPipeline(t, writeInput(t, records), Config{URL: svc.URL(), Mode: tc.mode, Retry: fastRetry(t)},
				operators.RateLimit(4000))
			res := r.Run(p)
			if res.State != actors.JobFinished || res.Restarts != 1 || len(r.Faults().Fired()) != 1 {
				t.Fatalf("got %v with faults %v, want finished after 1 restart", res, r.Faults().Fired())
			}
			testkit.AssertExactlyOnce(t, sentIDs(records), out.Values(), recordID, tc.order...)
			again := 0 // records called again after the restore
			for _, rec := range out.Values() {
				checkEnriched(t, rec)
				if svc.Tries(rec.ID) > int(svc.flaky[rec.ID])+1 {
					again++
				}
			}
			// From scratch, the ~records/2 records before the fault would
			// all be called again; from a checkpoint, only those after it.
			t.Logf("%d records called again after the restore", again)
			if again == 0 || again >= records/2 {
				t.Errorf("%d records called again: want some, and fewer than a restart from scratch", again)
			}
		})
	}
}

// fileJob builds New over records input records, writing part files into
// out.
func fileJob(t testing.TB, svc *fakeService, input, out string) *operators.Pipeline {
	t.Helper()
	p, err := New(Config{Input: input, URL: svc.URL(), Output: out, Retry: fastRetry(t)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// committedOutput checks that out holds exactly once every record of the
// input, enriched and in input order (one subtask, ordered mode), with
// nothing left in progress or pending.
func committedOutput(t testing.TB, out string) {
	t.Helper()
	recs, others := testkit.ReadCommitted[Record](t, out)
	if len(others) > 0 {
		t.Errorf("left in the output dir: %q", others)
	}
	testkit.AssertExactlyOnce(t, sentIDs(records), recs, recordID, testkit.InOrder[Record]())
	for _, rec := range recs {
		checkEnriched(t, rec)
	}
}

// The file output is exactly-once under checkpoints: after a fault in the
// sink, the restored sink commits the files of the checkpoint and removes
// the others, and its replayed records go to new files. The service holds
// the second half of the input until a checkpoint has completed, so that
// the fault, in the second half, restores one.
func TestNew_fileOutput_checkpointsAndFaultIsExactlyOnce(t *testing.T) {
	gate := make(chan struct{})
	svc := newFakeService(t, records, 12, 0, 3*time.Millisecond, withFlaky(13), withGate(records/2, gate))
	out := t.TempDir()
	// Not much more often: each checkpoint syncs a file and the directory
	// twice on the sink's goroutine, which the whole chain shares.
	r := testkit.NewRunner(t, testkit.WithCheckpoints(20*time.Millisecond), testkit.WithRunTimeout(30*time.Second))
	r.Faults().FailAt(SinkName, testkit.AtRecord(records*3/4))
	job := r.Start(fileJob(t, svc, writeInput(t, records), out))
	testkit.Eventually(t, 10*time.Second, func() bool { _, ok := job.LatestCheckpoint(); return ok },
		"a checkpoint before the fault")
	close(gate)
	if res := r.Wait(job); res.State != actors.JobFinished || res.Restarts != 1 {
		t.Fatalf("got %v with faults %v, want finished after 1 restart", res, r.Faults().Fired())
	}
	committedOutput(t, out)
}

// A crash after the job's final checkpoint and before the final commit
// (a fault there) leaves the last epoch pending; the restart restores the
// final checkpoint, which commits it. Issue 10 finding 7: the old sink of
// this example left its output in progress for ever.
func TestNew_fileOutput_faultInFinalCommitIsExactlyOnce(t *testing.T) {
	svc := newFakeService(t, records, 12, 0, time.Millisecond)
	out := t.TempDir()
	r := testkit.NewRunner(t, testkit.WithCheckpoints(20*time.Millisecond), testkit.WithRunTimeout(30*time.Second))
	r.Faults().FailAtFinalCommit(SinkName)
	res := r.Run(fileJob(t, svc, writeInput(t, records), out))
	fired := r.Faults().Fired()
	if res.State != actors.JobFinished || res.Restarts != 1 || len(fired) != 1 || fired[0].Point != operators.FaultFinalCommit {
		t.Fatalf("got %v with faults %v, want finished after 1 restart from a fault in the final commit", res, fired)
	}
	committedOutput(t, out)
}

// storeEngine is an engine that keeps its checkpoints in root, as a node
// with a state dir does, so that another engine resumes from them: a node
// started again after a crash.
func storeEngine(t testing.TB, root string, interval time.Duration, faults *testkit.Faults) *actors.Engine {
	t.Helper()
	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	cfg.Restart = actors.NoRestart()
	cfg.Checkpoint.Interval = interval
	cfg.Checkpoint.Store = func(job, run string) (actors.CheckpointStore, error) {
		return persistence.OpenDirStore(filepath.Join(root, job, run), 3)
	}
	if faults != nil {
		cfg.Faults = faults
	}
	e, err := actors.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// runJob submits p and waits for it; opts may restore it.
func runJob(t testing.TB, e *actors.Engine, p *operators.Pipeline, opts ...actors.SubmitOption) (*actors.Job, error) {
	t.Helper()
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.Submit(g, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(30*time.Second))
	defer cancel()
	return j, j.Wait(ctx)
}

// Both crash points of issue 10 finding 7, each followed by a resume in
// another engine from the latest checkpoint, as the node command resumes
// a run that did not finish. Only the final checkpoint is taken (a long
// interval), so every record is in the last epoch.
//   - Before the final commit: the final checkpoint is complete, every
//     record pending; the resume commits them.
//   - After the final commit, before the process ends: the resume finds
//     them committed and the job finishes without writing anything
//     again. (The old sink failed every such restore, "file has only 0
//     bytes".)
func TestNew_fileOutput_resumeAfterCrashAtFinalCommit(t *testing.T) {
	for _, tc := range []struct {
		name         string
		failCommit   bool
		pendingAfter bool // the first run leaves its output pending
	}{
		{"before final commit", true, true},
		{"after final commit", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := newFakeService(t, records, 14, 0, time.Millisecond)
			input, out, store := writeInput(t, records), t.TempDir(), t.TempDir()
			faults := testkit.NewFaults()
			if tc.failCommit {
				faults.FailAtFinalCommit(SinkName)
			}
			first, err := runJob(t, storeEngine(t, store, time.Hour, faults), fileJob(t, svc, input, out))
			var fault *testkit.InjectedFault
			if tc.failCommit != errors.As(err, &fault) || !tc.failCommit && err != nil {
				t.Fatalf("first run: %v, want a fault in the final commit: %v", err, tc.failCommit)
			}
			recs, others := testkit.ReadCommitted[Record](t, out)
			if pending := len(recs) == 0 && len(others) > 0; pending != tc.pendingAfter {
				t.Fatalf("after the first run: %d records committed, %q left; want all pending: %v", len(recs), others, tc.pendingAfter)
			}
			cp, ok := first.LatestCheckpoint()
			if !ok {
				t.Fatal("no final checkpoint")
			}
			if _, err := runJob(t, storeEngine(t, store, time.Hour, nil), fileJob(t, svc, input, out), actors.RestoreFrom(cp.Path)); err != nil {
				t.Fatalf("resumed run: %v", err)
			}
			committedOutput(t, out)
		})
	}
}
