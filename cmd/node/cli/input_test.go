package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/nexmark"
)

// A missing or unreadable input, or an output that cannot be a directory,
// is a usage error naming the parameter, found before the job starts: no
// checkpoint state is created (with checkpoints the job would otherwise
// restart for ever).
func TestMain_run_badEndpoints(t *testing.T) {
	dir := t.TempDir()
	missing, file := filepath.Join(dir, "missing.txt"), writeText(t)
	url := "-p=url=http://localhost:1/x"
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"wordcount", "-p", "input=" + missing}, `input="` + missing + `": no such file`},
		{[]string{"wordcount", "-p", "input=" + dir}, `input="` + dir + `": is a directory`},
		{[]string{"wordcount", "-p", "input=" + file, "-p", "output=" + file}, `output="` + file + `"`},
		{[]string{"nexmark", "-p", "query=q1", "-p", "input=" + missing}, `input="` + missing + `": no such file`},
		{[]string{"nexmark", "-p", "query=q1", "-p", "events=10", "-p", "output=" + file}, `output="` + file + `"`},
		{[]string{"enrich", "-p", "input=" + missing, url}, `input="` + missing + `": no such file`},
		{[]string{"enrich", "-p", "input=" + dir, url}, `input="` + dir + `": is a directory`},
	}
	for _, tt := range tests {
		stateDir := t.TempDir()
		args := append([]string{"run", "--checkpoint-interval", "100ms", "--state-dir", stateDir}, tt.args...)
		code, stdout, stderr := runMain(t, endpointRegistry(t), args...)
		if code != ExitUsage || stdout != "" || !strings.Contains(stderr, tt.want) || !strings.Contains(stderr, "pipelines") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q with a hint to 'node pipelines'",
				tt.args, code, stdout, stderr, tt.want)
		}
		if entries, _ := os.ReadDir(stateDir); len(entries) != 0 {
			t.Errorf("%q: the state dir holds %v: the job was set up", tt.args, entries)
		}
	}
}

// endpointRegistry holds wordcount, nexmark and enrich.
func endpointRegistry(t testing.TB) *actors.Registry {
	t.Helper()
	reg := enrichRegistry(t)
	reg.MustRegister(nexmark.SpecTo(io.Discard))
	return reg
}
