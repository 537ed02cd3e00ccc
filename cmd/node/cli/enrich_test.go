package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
