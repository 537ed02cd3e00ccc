package actors

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// readEvents reads the committed part files of a WriteFiles directory and
// counts each event's sequence number; hidden files are reported too.
func readEvents(t *testing.T, dir string) (seen map[int64]int, hidden []string) {
	t.Helper()
	seen = map[int64]int{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			hidden = append(hidden, e.Name())
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for sc := bufio.NewScanner(f); sc.Scan(); {
			var ev event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("%s: %q: %v", e.Name(), sc.Text(), err)
			}
			seen[ev.Seq]++
		}
		_ = f.Close()
	}
	return seen, hidden
}

// checkEventsOnce fails unless every sequence number 0..n-1 was committed
// exactly once.
func checkEventsOnce(t *testing.T, seen map[int64]int, n int64) {
	t.Helper()
	var missing, dup []int64
	for i := range n {
		switch c := seen[i]; {
		case c == 0:
			missing = append(missing, i)
		case c > 1:
			dup = append(dup, i)
		}
	}
	if len(missing) > 0 || len(dup) > 0 {
		t.Fatalf("of %d records, %d never committed (first %v), %d committed more than once (first %v)",
			n, len(missing), head(missing), len(dup), head(dup))
	}
}

func head(s []int64) []int64 { return s[:min(len(s), 5)] }

// Review finding 4 (review10; records lost; two jobs, one output directory). A restored
// exactly-once file sink removes, as orphans, every hidden part file in
// its directory whose name carries one of its old subtask indexes
// (discardOrphans), whoever wrote it. A second job writing into the same
// directory (another pipeline, or a new version started from a
// savepoint while the old one still runs) deletes the first job's
// pending files on each of its restores: the first job's commit then
// finds neither the pending nor the final file, takes the part as
// committed (partGone, a warning) and its records are lost; its
// in-progress file goes too.
//
// The docs say "one sink per directory", but nothing enforces it and the
// loss is silent. Flink's FileSink only touches the files its own state
// names (its part files carry a per-sink unique id), so two jobs can
// share a directory. Expected: the first job's records are all committed
// exactly once.
func TestReview_fileSink_secondJobsRestoreDeletesFirstJobsPendingFiles(t *testing.T) {
	const nA, nB = 20000, 2000
	out := filepath.Join(t.TempDir(), "out")
	gA, storeA := gatedDirStore(t)
	gA.hold = func(m *persistence.Metadata) bool { return !m.Savepoint && m.ID >= 2 }
	eA := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Checkpoint.Store = storeA
		c.Restart = FixedDelay(3, time.Millisecond)
		c.BatchSize = 64
	})
	pA := operators.NewPipeline("writer-a")
	srcA := operators.Generate(pA, nA, func(i int64) event { return event{Key: 1, Seq: i} }, operators.RateLimit(4000))
	operators.WriteFiles(srcA, out).Name("sink")
	jA := submit(t, eA, pA)
	defer jA.Cancel()
	<-gA.held // job A has checkpoint 2's part file pending (its commit waits)

	fault := &faultAfterCheckpoint{op: "stage-b", after: nB / 2}
	eB := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Restart = FixedDelay(3, time.Millisecond)
		c.Faults = fault
		c.BatchSize = 64
	})
	pB := operators.NewPipeline("writer-b")
	srcB := operators.Generate(pB, nB, func(i int64) event { return event{Key: 2, Seq: 1_000_000 + i} }, operators.RateLimit(4000))
	operators.WriteFiles(operators.Map(srcB, func(e event) event { return e }).Name("stage-b"), out).Name("sink")
	jB := submit(t, eB, pB)
	fault.job.Store(jB)
	if err := waitJob(t, jB); err != nil {
		t.Fatal(err)
	}
	if jB.Restarts() != 1 {
		t.Fatalf("job B restarted %d times, want 1 (its restore is what cleans the directory)", jB.Restarts())
	}
	gA.open()
	if err := waitJob(t, jA); err != nil {
		t.Logf("job A: %v", err)
	}
	seen, _ := readEvents(t, out)
	checkEventsOnce(t, seen, nA) // job A's records; job B's are ≥ 1 000 000
}
