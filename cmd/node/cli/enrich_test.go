package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/enrich"
	"github.com/troupe-dev/troupe/testkit"
)

// enrichRegistry is testRegistry with the enrich pipeline.
func enrichRegistry(t testing.TB) *actors.Registry {
	t.Helper()
	reg := testRegistry(t, io.Discard)
	reg.MustRegister(enrich.SpecTo(io.Discard))
	return reg
}

// enrichService answers GET ?id=N with {"name":"n-N"}; it returns its URL.
func enrichService(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"name":"n-%s"}`, r.URL.Query().Get("id"))
	}))
	t.Cleanup(srv.Close)
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

// enrich's output is a directory: an existing file, or a path through a
// file, is a usage error naming the parameter, reported before the job
// starts (no checkpoint state is created) and leaving the file as it was.
func TestMain_run_enrichBadOutput(t *testing.T) {
	input := enrichInput(t, 10)
	stateDir := t.TempDir()
	for _, out := range []string{input, filepath.Join(input, "out")} {
		code, stdout, stderr := runMain(t, enrichRegistry(t), "run", "enrich", "-p", "input="+input,
			"-p", "url=http://localhost:1/x", "-p", "output="+out,
			"--checkpoint-interval", "100ms", "--state-dir", stateDir)
		if code != ExitUsage || stdout != "" {
			t.Errorf("output=%s: exit %d, stdout %q; want exit 2 and no output", out, code, stdout)
		}
		if !strings.Contains(stderr, `output="`+out+`"`) || !strings.Contains(stderr, "is a file") || !strings.Contains(stderr, "pipelines") {
			t.Errorf("output=%s: stderr %q; want the parameter, why, and a hint to 'node pipelines'", out, stderr)
		}
	}
	if entries, _ := os.ReadDir(stateDir); len(entries) != 0 {
		t.Errorf("the state dir holds %v: the job was set up despite the bad output", entries)
	}
	if b, err := os.ReadFile(input); err != nil || !strings.HasPrefix(string(b), `{"id":0}`) {
		t.Errorf("the input was changed: %.20q, %v", b, err)
	}
}

// enrich writes part files at any parallelism; with checkpoints each
// record is committed once and nothing is left in progress.
func TestMain_run_enrichFiles(t *testing.T) {
	const n = 500
	input, url := enrichInput(t, n), enrichService(t)
	for _, args := range [][]string{
		{"--parallelism", "3"},
		{"--parallelism", "2", "--checkpoint-interval", "10ms", "--state-dir", t.TempDir()},
	} {
		out := filepath.Join(t.TempDir(), "out")
		all := append([]string{"run", "enrich", "-p", "input=" + input, "-p", "url=" + url, "-p", "output=" + out}, args...)
		code, stdout, stderr := runMain(t, enrichRegistry(t), all...)
		if code != ExitOK || stdout != "" || stderr != "" {
			t.Fatalf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
		recs, others := testkit.ReadCommitted[enrich.Record](t, out)
		if len(others) > 0 {
			t.Errorf("%q: left in the output dir: %q", args, others)
		}
		seen := make(map[int64]bool)
		for _, r := range recs {
			var name string
			if seen[r.ID] || !r.Field("name", &name) || name != fmt.Sprintf("n-%d", r.ID) {
				t.Fatalf("%q: record %d twice (%v) or not enriched (name %q)", args, r.ID, seen[r.ID], name)
			}
			seen[r.ID] = true
		}
		if len(seen) != n {
			t.Errorf("%q: %d records committed, want %d", args, len(seen), n)
		}
	}
}

// flakyService is enrichService, except that its calls for id fail with
// the given statuses in turn, the first only once the state dir holds a
// complete checkpoint (so that the restart has one to restore).
func flakyService(t testing.TB, id int, stateDir string, statuses ...int) string {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.URL.Query().Get("id")
		mu.Lock()
		n := calls
		if got == strconv.Itoa(id) {
			calls++
		}
		mu.Unlock()
		if got != strconv.Itoa(id) || n >= len(statuses) {
			fmt.Fprintf(w, `{"name":"n-%s"}`, got)
			return
		}
		if n == 0 {
			awaitCheckpoint(stateDir)
		}
		w.WriteHeader(statuses[n])
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// awaitCheckpoint polls until a checkpoint under stateDir is complete, for
// at most 10 s (dilated); a test that needs one checks the outcome.
func awaitCheckpoint(stateDir string) {
	deadline := time.Now().Add(testkit.Dilated(10 * time.Second))
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(filepath.Join(stateDir, "*", "run-*", "chk-*", "_metadata")); len(m) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond) // polling the file system; nothing to wait on
	}
}

// checkEnriched checks that out holds each of the n records once, enriched.
func checkEnriched(t testing.TB, out string, n int) {
	t.Helper()
	recs, others := testkit.ReadCommitted[enrich.Record](t, out)
	if len(others) > 0 {
		t.Errorf("left in the output dir: %q", others)
	}
	seen := make(map[int64]bool)
	for _, r := range recs {
		var name string
		if seen[r.ID] || !r.Field("name", &name) || name != fmt.Sprintf("n-%d", r.ID) {
			t.Fatalf("record %d twice (%v) or not enriched (name %q)", r.ID, seen[r.ID], name)
		}
		seen[r.ID] = true
	}
	if len(seen) != n {
		t.Errorf("%d records committed, want %d", len(seen), n)
	}
}

// The case of issue 13: a service answering one 503 to a job without
// retries. With checkpoints the default restart strategy restarts the
// job from its checkpoint, standard error says so, and every record is
// written once.
func TestMain_run_enrichRestartsFromCheckpoint(t *testing.T) {
	const n = 3000
	stateDir := t.TempDir()
	input, url := enrichInput(t, n), flakyService(t, 150, stateDir, http.StatusServiceUnavailable)
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runMain(t, enrichRegistry(t), "run", "enrich", "-p", "input="+input, "-p", "url="+url,
		"-p", "output="+out, "--param", "retries=1", "--checkpoint-interval", "200ms", "--state-dir", stateDir)
	if code != ExitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the job to restart and finish", code, stdout, stderr)
	}
	want := regexp.MustCompile(`node run: job "enrich" restart 1 \(attempt 2\) after: .*id 150.*503 Service Unavailable; restoring checkpoint \d+ \(.*chk-\d+\)\n`)
	if !want.MatchString(stderr) || strings.Count(stderr, "restart ") != 1 {
		t.Errorf("stderr %q; want one restart line naming the cause and the checkpoint", stderr)
	}
	checkEnriched(t, out, n)
}

// A job failing more often than --restart allows fails with its last
// cause, after saying each restart.
func TestMain_run_restartsExhausted(t *testing.T) {
	stateDir := t.TempDir()
	input := enrichInput(t, 3000)
	url := flakyService(t, 50, stateDir, http.StatusServiceUnavailable, http.StatusInternalServerError)
	code, _, stderr := runMain(t, enrichRegistry(t), "run", "enrich", "-p", "input="+input, "-p", "url="+url,
		"-p", "output="+filepath.Join(t.TempDir(), "out"), "-p", "retries=1", "--restart", "fixed:1:10ms",
		"--checkpoint-interval", "200ms", "--state-dir", stateDir)
	if code != ExitFailed {
		t.Fatalf("exit %d, stderr %q; want 1", code, stderr)
	}
	restart := regexp.MustCompile(`restart 1 \(attempt 2\) after: .*503 Service Unavailable; restoring checkpoint \d+`)
	failed := regexp.MustCompile(`node run: job "enrich" failed: .*id 50.*500 Internal Server Error\n`)
	if !restart.MatchString(stderr) || !failed.MatchString(stderr) || strings.Contains(stderr, "restart 2") {
		t.Errorf("stderr %q; want one restart after the 503, then the job failed with the 500", stderr)
	}
}
