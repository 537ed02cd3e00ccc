package enrich

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
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

// The file output is exactly-once under checkpoints too: after a fault in
// the sink, the restored sink cuts its in-progress file back to the
// checkpoint, and the committed file holds every record once. No
// in-progress file is left behind.
func TestNew_fileOutput_checkpointsAndFaultIsExactlyOnce(t *testing.T) {
	svc := newFakeService(t, records, 12, 0, 3*time.Millisecond, withFlaky(13))
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	p, err := New(Config{Input: writeInput(t, records), URL: svc.URL(), Output: out, Retry: fastRetry(t)})
	if err != nil {
		t.Fatal(err)
	}
	r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond))
	r.Faults().FailAt(SinkName, testkit.AtRecord(records*3/4))
	if res := r.Run(p); res.State != actors.JobFinished || res.Restarts != 1 {
		t.Fatalf("got %v with faults %v, want finished after 1 restart", res, r.Faults().Fired())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := decodeLines(t, b)
	testkit.AssertExactlyOnce(t, sentIDs(records), recs, recordID, testkit.InOrder[Record]())
	for _, rec := range recs {
		checkEnriched(t, rec)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries in the output dir, want only the output", len(entries))
	}
}
