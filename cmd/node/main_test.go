package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/wordcount"
)

// The node binary, built once per test binary by nodeBinary and removed by
// TestMain.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// nodeBinary builds ./cmd/node with the go command on first use; tests
// that need it are skipped in -short mode.
func nodeBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the node binary; skipped with -short")
	}
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = err
			return
		}
		if binDir, buildErr = os.MkdirTemp("", "troupe-node-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "node")
		if runtime.GOOS == "windows" {
			binPath += ".exe"
		}
		args := []string{"build", "-o", binPath}
		if os.Getenv("TROUPE_CLUSTER_RACE") != "" { // as testkit.StartCluster
			args = append(args, "-race")
		}
		if out, err := exec.Command(goTool, append(args, ".")...).CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/node: %v", buildErr)
	}
	return binPath
}

// node runs the binary to completion and returns its exit code and output.
func node(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBinary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil && !errors.As(err, new(*exec.ExitError)) {
		t.Fatalf("node %q: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// The demo command line of the README.
func TestNode_wordcount(t *testing.T) {
	const sample = "../../examples/wordcount/testdata/sample.txt"
	code, out, errOut := node(t, "run", "wordcount", "--param", "input="+sample)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for line := range strings.Lines(errOut) {
		if !strings.HasPrefix(line, "wordcount: ") { // progress, every 10 s off a terminal
			t.Fatalf("stderr %q: want nothing but progress", errOut)
		}
	}
	text, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[string]int)
	for _, w := range wordcount.Words(string(text)) {
		want[w]++
	}
	got := make(map[string]int)
	for line := range strings.Lines(out) {
		var c wordcount.Count
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if c.Count != got[c.Word]+1 { // one subtask: each word's counts in order
			t.Fatalf("%+v after count %d", c, got[c.Word])
		}
		got[c.Word] = c.Count
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct words, want %d", len(got), len(want))
	}
	for w, n := range want {
		if got[w] != n {
			t.Errorf("word %q: total %d, want %d", w, got[w], n)
		}
	}
}

func TestNode_unknownPipeline(t *testing.T) {
	code, out, errOut := node(t, "run", "nope")
	if code != 2 || out != "" || !strings.Contains(errOut, `"nope"`) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and an error naming nope", code, out, errOut)
	}
}

// SIGINT stops the unbounded generate job gracefully: the node exits 0
// soon after, and each subtask's output is a gap-free prefix of its
// sequence (subtask i of 2 makes i, i+2, i+4, …).
func TestNode_generate_SIGINT(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT for child processes on Windows")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBinary(t), "run", "generate", "--parallelism", "2")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	next := []int64{0, 1}
	lines := 0
	var killer *time.Timer
	for sc := bufio.NewScanner(stdout); sc.Scan(); lines++ {
		var n number
		if err := json.Unmarshal(sc.Bytes(), &n); err != nil || n.Square != n.Seq*n.Seq {
			t.Fatalf("line %q: %+v, %v", sc.Text(), n, err)
		}
		if n.Seq != next[n.Seq%2] {
			t.Fatalf("line %d: seq %d, want %d next from subtask %d", lines+1, n.Seq, next[n.Seq%2], n.Seq%2)
		}
		next[n.Seq%2] += 2
		if killer == nil {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			// The deadline for the graceful stop: kill the child after it.
			killer = time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() })
			defer killer.Stop()
		}
	}
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d (%v) after SIGINT, want 0 within 10s; stderr:\n%s", code, err, errOut.String())
	}
	if lines == 0 {
		t.Fatal("no output")
	}
	if !strings.Contains(errOut.String(), "stopping the job gracefully") {
		t.Errorf("stderr %q does not report the graceful stop", errOut.String())
	}
}

func TestBuiltins(t *testing.T) {
	reg := actors.NewRegistry()
	for _, spec := range builtins {
		if err := reg.Register(spec()); err != nil {
			t.Fatal(err)
		}
	}
	for _, values := range []map[string]string{{"rate": "-1"}, {"rate": "x"}, {"count": "many"}} {
		if _, err := reg.Build("generate", values, 0); !errors.Is(err, actors.ErrBadParam) {
			t.Errorf("generate %v: error %v, want ErrBadParam", values, err)
		}
	}
	if _, err := reg.Build("generate", map[string]string{"count": "10", "rate": "0"}, 2); err != nil {
		t.Errorf("generate: %v", err)
	}
}
