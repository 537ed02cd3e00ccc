package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
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
// and the names of the hidden (uncommitted) files.
func outputLines(t testing.TB, dir string) (lines []string, hidden []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			hidden = append(hidden, e.Name())
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	slices.Sort(lines)
	return lines, hidden
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
	cmd := exec.Command(nodeBinary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	target := after + 1 + rng.IntN(2) // one or two more checkpoints
	testkit.Eventually(t, 15*time.Second, func() bool { return newestCheckpoint(t, stateDir) >= target },
		"checkpoint %d", target)
	select {
	case err := <-exited:
		t.Fatalf("the node ended (%v) before it was killed; the input is too short for the rate", err)
	case <-time.After(time.Duration(rng.IntN(200)) * time.Millisecond): // a random moment, not a wait for something
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	return stderr.String(), newestCheckpoint(t, stateDir)
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

func wordcountArgs(input, out, state string, rate int) []string {
	return []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out, "-p", "rate=" + strconv.Itoa(rate),
		"--parallelism", "2", "--checkpoint-interval", "200ms", "--state-dir", state}
}
