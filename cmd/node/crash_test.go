package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/examples/enrich"
	"github.com/troupe-dev/troupe/examples/wordcount"
	"github.com/troupe-dev/troupe/testkit"
)

// crashInput writes n lines of words whose counts interleave.
func crashInput(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "the w%d fox x%d the end%d\n", i%97, i%11, i%3)
	}
	path := filepath.Join(t.TempDir(), "input.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// outputLines returns the lines of dir's committed part files, sorted,
// and the names of the other (uncommitted) files.
func outputLines(t testing.TB, dir string) (lines []string, others []string) {
	t.Helper()
	lines, others = testkit.CommittedLines(t, dir)
	slices.Sort(lines)
	return lines, others
}

// newestCheckpoint returns the highest ID of a complete checkpoint under
// stateDir (0 if none).
func newestCheckpoint(t testing.TB, stateDir string) int {
	t.Helper()
	metas, err := filepath.Glob(filepath.Join(stateDir, "*", "run-*", "chk-*", "_metadata"))
	if err != nil {
		t.Fatal(err)
	}
	newest := 0
	for _, m := range metas {
		id, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(filepath.Dir(m)), "chk-"))
		if err == nil {
			newest = max(newest, id)
		}
	}
	return newest
}

// killAfterCheckpoint starts the node, waits until one or two
// checkpoints newer than after are complete, lets it run a random moment
// more (any point of the checkpoint cycle), and kills it
// with SIGKILL. It returns the node's stderr and the newest checkpoint
// before the kill.
func killAfterCheckpoint(t *testing.T, rng *rand.Rand, stateDir string, after int, args []string) (string, int) {
	t.Helper()
	c := startNode(t, args...)
	target := after + 1 + rng.IntN(2) // one or two more checkpoints
	testkit.Eventually(t, 15*time.Second, func() bool { return newestCheckpoint(t, stateDir) >= target },
		"checkpoint %d", target)
	select {
	case err := <-c.exited:
		t.Fatalf("the node ended (%v) before it was killed; the input is too short for the rate", err)
	case <-time.After(time.Duration(rng.IntN(200)) * time.Millisecond): // a random moment, not a wait for something
	}
	return c.kill(t), newestCheckpoint(t, stateDir)
}

// child is a node process started by startNode.
type child struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer // read only once the process has ended
	exited chan error   // receives cmd.Wait's result once
}

// startNode starts the node binary with args; a cleanup kills it if the
// test ends first.
func startNode(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(nodeBinary(t), args...), exited: make(chan error, 1)}
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.exited <- c.cmd.Wait() }()
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	return c
}

// kill sends SIGKILL, waits for the process to end and returns its
// stderr.
func (c *child) kill(t testing.TB) string {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	return c.stderr.String()
}

// killThriceAndResume runs the node with args three times, killing it
// with SIGKILL after a checkpoint each time (see killAfterCheckpoint), and
// a fourth time to the end; every run after the first must resume from a
// checkpoint in stateDir.
func killThriceAndResume(t *testing.T, rng *rand.Rand, stateDir string, args []string) {
	t.Helper()
	newest := 0
	for kill := range 3 {
		stderr, after := killAfterCheckpoint(t, rng, stateDir, newest, args)
		if kill > 0 && !strings.Contains(stderr, "resuming from checkpoint") {
			t.Errorf("run %d did not resume; stderr:\n%s", kill+1, stderr)
		}
		t.Logf("run %d killed after checkpoint %d", kill+1, after)
		newest = after
	}
	code, _, errOut := node(t, args...)
	if code != 0 || !strings.Contains(errOut, "resuming from checkpoint") {
		t.Fatalf("last run: exit %d, want 0 and a resume; stderr:\n%s", code, errOut)
	}
}

// TestNode_wordcount_SIGKILL is the crash test: wordcount with a rate
// limit and 200 ms checkpoints into a state dir, killed with SIGKILL three
// times at random moments and rerun with the same command each time. The
// committed output equals that of a run without failures: every running
// count exactly once, and no uncommitted file left.
func TestNode_wordcount_SIGKILL(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	start := time.Now()
	const lines, rate = 6000, 1000 // 2 subtasks: about 3 s of input
	input := crashInput(t, lines)
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)

	ref := t.TempDir()
	if code, _, errOut := node(t, wordcountArgs(input, ref, t.TempDir(), 0)...); code != 0 {
		t.Fatalf("reference run: exit %d, stderr %s", code, errOut)
	}
	want, _ := outputLines(t, ref)

	out, state := t.TempDir(), t.TempDir()
	killThriceAndResume(t, rng, state, wordcountArgs(input, out, state, rate))
	got, hidden := outputLines(t, out)
	if !slices.Equal(got, want) {
		t.Errorf("committed %d lines, want the %d of a run without failures", len(got), len(want))
	}
	if len(hidden) > 0 {
		t.Errorf("uncommitted files left: %q", hidden)
	}
	text, _ := os.ReadFile(input)
	if err := wordcount.Verify(strings.NewReader(strings.Join(got, "\n")), wordcount.Totals(string(text))); err != nil {
		t.Error(err)
	}
	t.Logf("crash test took %v", time.Since(start).Round(time.Millisecond))
}

// TestNode_enrich_SIGKILLAfterFinalCommit kills the node after its job's
// final commit and before it exits (issue 10 finding 7: enrich's own sink
// then failed every resume, "file has only 0 bytes"). The kill point is
// made deterministic with a named pipe where the node marks its run
// finished, as its last step: opening it blocks the node there, after
// every part file is committed, until the kill. The same command again
// resumes the run from its final checkpoint, exits 0, and leaves the
// output as it was: every record once, nothing rewritten or in progress.
func TestNode_enrich_SIGKILLAfterFinalCommit(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	const n = 2000
	gate := make(chan struct{})
	url := gatedService(t, n/2, gate)
	input, out, state := enrichInput(t, n), filepath.Join(t.TempDir(), "out"), t.TempDir()
	args := []string{"run", "enrich", "-p", "input=" + input, "-p", "url=" + url, "-p", "output=" + out,
		"--parallelism", "2", "--checkpoint-interval", "20ms", "--state-dir", state}

	c := startNode(t, args...)

	// The run dir exists before the job starts; the service holds half
	// the input until the pipe is in place, so the job cannot finish first.
	var runDirs []string
	testkit.Eventually(t, 30*time.Second, func() bool {
		runDirs, _ = filepath.Glob(filepath.Join(state, "*", "run-*"))
		return len(runDirs) == 1
	}, "the node's run dir")
	finished := filepath.Join(runDirs[0], "_finished")
	mkfifo(t, finished)
	close(gate)

	testkit.Eventually(t, 30*time.Second, func() bool {
		lines, others := committedFiles(t, out)
		return len(lines) == n && len(others) == 0
	}, "all %d records committed", n)
	select {
	case err := <-c.exited:
		t.Fatalf("the node exited (%v) before the kill; stderr:\n%s", err, c.stderr.String())
	default: // blocked at the pipe, or on its way there: past the final commit
	}
	c.kill(t)
	before := testkit.FileListing(t, out)
	if err := os.Remove(finished); err != nil { // as a kill there leaves it: no mark
		t.Fatal(err)
	}

	code, _, errOut := node(t, args...)
	if code != 0 || !strings.Contains(errOut, "resuming from checkpoint") {
		t.Fatalf("rerun: exit %d, want 0 and a resume; stderr:\n%s", code, errOut)
	}
	if after := testkit.FileListing(t, out); after != before {
		t.Errorf("the resumed run changed the output:\n%s\nwas\n%s", after, before)
	}
	lines, others := committedFiles(t, out)
	checkEnrichedOnce(t, lines, n)
	if len(others) > 0 {
		t.Errorf("uncommitted files left: %q", others)
	}
}

// gatedService answers GET ?id=N with {"name":"n-N"}, holding requests
// for ids from from on until gate is closed; it returns its URL.
func gatedService(t testing.TB, from int, gate <-chan struct{}) string {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.URL.Query().Get("id"))
		if id >= from {
			select {
			case <-gate:
			case <-stop:
				return
			case <-r.Context().Done():
				return
			}
		}
		fmt.Fprintf(w, `{"name":"n-%d"}`, id)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // first: held requests return
	return srv.URL
}

// enrichInput writes n records {"id":i} and returns the file's path.
func enrichInput(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "{\"id\":%d}\n", i)
	}
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// committedFiles is testkit.CommittedLines for a dir that may not exist
// yet (nothing committed).
func committedFiles(t testing.TB, dir string) (lines, others []string) {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return testkit.CommittedLines(t, dir)
}

// checkEnrichedOnce checks that lines are the n enriched records, each once.
func checkEnrichedOnce(t testing.TB, lines []string, n int) {
	t.Helper()
	seen := make(map[int64]bool)
	for _, l := range lines {
		var r enrich.Record
		var name string
		if err := json.Unmarshal([]byte(l), &r); err != nil || !r.Field("name", &name) || name != fmt.Sprintf("n-%d", r.ID) {
			t.Fatalf("line %q: not an enriched record (%v)", l, err)
		}
		if seen[r.ID] {
			t.Fatalf("record %d committed twice", r.ID)
		}
		seen[r.ID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d records committed, want %d", len(seen), n)
	}
}

func wordcountArgs(input, out, state string, rate int) []string {
	return []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out, "-p", "rate=" + strconv.Itoa(rate),
		"--parallelism", "2", "--checkpoint-interval", "200ms", "--state-dir", state}
}
