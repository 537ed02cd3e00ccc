package operators_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
	"github.com/troupe-dev/troupe/testkit"
)

// keyCount is a running count of one key.
type keyCount struct {
	Key   int `json:"key"`
	Count int `json:"count"`
}

const countKeys = 17

// countFilePipeline reads the numbers 0..n-1, one per line, keys them by
// n mod countKeys, counts per key ("count") and writes the running counts
// with the file sink: every stage at parallelism par.
func countFilePipeline(in, out string, par int, rate float64) *operators.Pipeline {
	p := operators.NewPipeline("filecount").SetParallelism(par)
	lines := operators.ReadLines(p, in, operators.RateLimit(rate)).Name("lines")
	ks := operators.KeyBy(lines, func(s string) int {
		n, _ := strconv.Atoi(s)
		return n % countKeys
	})
	counts := operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[int], _ string, o operators.Collector[keyCount]) error {
		count, err := operators.GetValueState(ctx, countState)
		if err != nil {
			return err
		}
		c, _ := count.Value()
		count.Update(c + 1)
		o.Collect(keyCount{Key: ctx.Key(), Count: c + 1}, operators.NoTimestamp)
		return nil
	}).Name("count")
	operators.WriteFiles(counts, out).Name("sink")
	return p
}

// countState is the running count of a key.
var countState = operators.ValueDescriptor[int]{Name: "count"}

func writeNumbers(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d\n", i)
	}
	path := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkCommitted reads dir's visible part files and checks that every
// (key, count) of n numbers is there exactly once, and nothing hidden is
// left.
func checkCommitted(t testing.TB, dir string, n int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[keyCount]int{}
	total := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("hidden file %s left", e.Name())
			continue
		}
		total += readCounts(t, filepath.Join(dir, e.Name()), seen)
	}
	for k := range countKeys {
		per := n / countKeys
		if k < n%countKeys {
			per++
		}
		for c := 1; c <= per; c++ {
			if m := seen[keyCount{k, c}]; m != 1 {
				t.Fatalf("key %d count %d committed %d times", k, c, m)
			}
		}
	}
	if total != n {
		t.Fatalf("committed %d records, want %d", total, n)
	}
}

func readCounts(t testing.TB, path string, seen map[keyCount]int) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		var kc keyCount
		if err := json.Unmarshal(sc.Bytes(), &kc); err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		seen[kc]++
	}
	return n
}

// A failure in the middle of a checkpointed job (in the counter, after
// some checkpoints) restarts it from the latest checkpoint: the file
// source rewinds, the sink commits, and the output holds every running
// count exactly once.
func TestWriteFiles_engineFailure_exactlyOnce(t *testing.T) {
	const n = 20000
	in, out := writeNumbers(t, n), t.TempDir()
	r := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond))
	r.Faults().FailAt("count", testkit.AtRecord(n/5))
	res := r.Run(countFilePipeline(in, out, 2, 40000))
	if res.Err != nil || res.Restarts != 1 || len(r.Faults().Fired()) != 1 {
		t.Fatalf("%v, faults %v; want one failure and restart", res, r.Faults().Fired())
	}
	checkCommitted(t, out, n)
}

// A failure while the sink restores (the second attempt) is retried from
// the same checkpoint; commits at restore are idempotent.
func TestWriteFiles_engineFailureInRestore_exactlyOnce(t *testing.T) {
	const n = 20000
	in, out := writeNumbers(t, n), t.TempDir()
	r := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond))
	r.Faults().FailAt("count", testkit.AtRecord(n/5))
	r.Faults().FailAtRestore("sink", testkit.InAttempt(1))
	res := r.Run(countFilePipeline(in, out, 2, 40000))
	if res.Err != nil || res.Restarts != 2 {
		t.Fatalf("%v; want two restarts", res)
	}
	checkCommitted(t, out, n)
}

// A crash after the job's final checkpoint and before its final commit
// (a fault there, in whichever sink subtask commits first) leaves the last
// epoch's files pending; the restart restores the final checkpoint, whose
// state lists them, and commits them: every record exactly once, nothing
// left hidden.
func TestWriteFiles_engineFaultInFinalCommit_exactlyOnce(t *testing.T) {
	const n = 5000
	in, out := writeNumbers(t, n), t.TempDir()
	r := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond))
	r.Faults().FailAtFinalCommit("sink")
	res := r.Run(countFilePipeline(in, out, 2, 0))
	if res.Err != nil || res.Restarts != 1 || len(r.Faults().Fired()) != 1 {
		t.Fatalf("%v, faults %v; want one failure in the final commit and a restart", res, r.Faults().Fired())
	}
	checkCommitted(t, out, n)
}

// The same crash, then a resume by another engine, as a node that was
// killed there and started again resumes from its state dir: the job
// fails in its final commit (no restart), its last epoch still pending,
// and the resumed job commits it.
func TestWriteFiles_resumeAfterFaultInFinalCommit_exactlyOnce(t *testing.T) {
	const n = 5000
	in, out, store := writeNumbers(t, n), t.TempDir(), t.TempDir()
	faults := testkit.NewFaults()
	faults.FailAtFinalCommit("sink", testkit.InSubtask(0))
	first := submit(t, dirStoreEngine(t, store, func(c *actors.Config) {
		c.Faults, c.Restart = faults, actors.NoRestart() // checkpointing alone would restart it
		// No periodic checkpoint: the final one holds every record, so
		// the failed final commit always leaves subtask 0's files
		// pending (a periodic one could have taken them all first).
		c.Checkpoint.Interval = time.Hour
	}),
		countFilePipeline(in, out, 2, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var fault *testkit.InjectedFault
	if err := first.Wait(ctx); !errors.As(err, &fault) || fault.Point != operators.FaultFinalCommit {
		t.Fatalf("first job: %v, want it failed in its final commit", err)
	}
	if _, hidden := partNames(t, out); len(hidden) == 0 {
		t.Fatal("no pending file after the failed final commit: the test crashed nothing")
	}
	cp, ok := first.LatestCheckpoint()
	if !ok {
		t.Fatal("no checkpoint")
	}
	second := submit(t, dirStoreEngine(t, store), countFilePipeline(in, out, 2, 0), actors.RestoreFrom(cp.Path))
	if err := second.Wait(ctx); err != nil {
		t.Fatalf("resumed job: %v", err)
	}
	checkCommitted(t, out, n)
}

// A crash after the final commit and before the process exits leaves the
// job finished but not known to be: a node resumes it from its final
// checkpoint. The restore finds the files committed, commits nothing
// again, and the resumed job finishes without touching the output.
func TestWriteFiles_resumeFinishedJob_commitsNothingAgain(t *testing.T) {
	const n = 5000
	in, out, store := writeNumbers(t, n), t.TempDir(), t.TempDir()
	first := submit(t, dirStoreEngine(t, store), countFilePipeline(in, out, 2, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := first.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	checkCommitted(t, out, n)
	before := testkit.FileListing(t, out)
	cp, ok := first.LatestCheckpoint()
	if !ok {
		t.Fatal("no final checkpoint")
	}
	for round := range 2 { // and again: a crash at the same point of the resumed run
		second := submit(t, dirStoreEngine(t, store), countFilePipeline(in, out, 2, 0), actors.RestoreFrom(cp.Path))
		if err := second.Wait(ctx); err != nil {
			t.Fatalf("resume %d: %v", round+1, err)
		}
		if after := testkit.FileListing(t, out); after != before {
			t.Fatalf("resume %d changed the output:\n%s\nwas\n%s", round+1, after, before)
		}
	}
	checkCommitted(t, out, n)
}

// partNames lists dir's visible and hidden names.
func partNames(t testing.TB, dir string) (visible, hidden []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			hidden = append(hidden, e.Name())
		} else {
			visible = append(visible, e.Name())
		}
	}
	return visible, hidden
}

// Stop with a savepoint at parallelism 2, resume at 3 and at 1: the file
// source's splits and the sink's files move with the state.
func TestWriteFiles_savepointRescale_exactlyOnce(t *testing.T) {
	for _, to := range []int{1, 3} {
		t.Run(fmt.Sprintf("2 to %d", to), func(t *testing.T) {
			const n = 20000
			in, out, store := writeNumbers(t, n), t.TempDir(), t.TempDir()
			e := dirStoreEngine(t, store)
			first := submit(t, e, countFilePipeline(in, out, 2, 10000))
			waitCheckpoint(t, first)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			path, err := first.StopWithSavepoint(ctx)
			if err != nil {
				t.Fatalf("stop with savepoint: %v", err)
			}
			if err := first.Wait(ctx); !errors.Is(err, actors.ErrCancelled) {
				t.Fatalf("first job: %v, want it cancelled after the savepoint (mid-input)", err)
			}
			second := submit(t, e, countFilePipeline(in, out, to, 0), actors.RestoreFrom(path))
			if err := second.Wait(ctx); err != nil {
				t.Fatalf("restored job: %v", err)
			}
			checkCommitted(t, out, n)
		})
	}
}

// dirStoreEngine is an engine checkpointing every 20 ms into root, as a
// node with a state dir does; opts change its configuration further.
func dirStoreEngine(t testing.TB, root string, opts ...func(*actors.Config)) *actors.Engine {
	t.Helper()
	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	cfg.Checkpoint.Interval = 20 * time.Millisecond
	cfg.Checkpoint.Store = func(job, run string) (actors.CheckpointStore, error) {
		return persistence.OpenDirStore(filepath.Join(root, job, run), 3)
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	e, err := actors.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func submit(t testing.TB, e *actors.Engine, p *operators.Pipeline, opts ...actors.SubmitOption) *actors.Job {
	t.Helper()
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.Submit(g, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func waitCheckpoint(t testing.TB, j *actors.Job) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() bool {
		_, ok := j.LatestCheckpoint()
		return ok
	}, "no checkpoint completed")
}
