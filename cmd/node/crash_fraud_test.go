package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/examples/fraud"
	"github.com/troupe-dev/troupe/testkit"
)

// fraudInput writes n generated transactions and returns the file's path
// and the transactions.
func fraudInput(t *testing.T, n int) (string, []fraud.Txn) {
	t.Helper()
	var b bytes.Buffer
	if err := fraud.Generate(&b, n, 50, 1_767_225_600_000, 3); err != nil {
		t.Fatal(err)
	}
	txns, err := fraud.ReadTxns(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "txns.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, txns
}

func fraudArgs(input, out, state string, rate int) []string {
	return []string{"run", fraud.Name, "-p", "input=" + input, "-p", "output=" + out, "-p", "window=10s",
		"-p", "limit=200000", "-p", "rate=" + strconv.Itoa(rate),
		"--parallelism", "2", "--checkpoint-interval", "200ms", "--state-dir", state}
}

// TestNode_fraud_SIGKILL is wordcount's crash test for the pipeline built
// around a keyed actor: the fraud detector's sums and timers live in the
// engine's keyed state, so a node killed with SIGKILL three times at
// random moments and rerun with the same command each time commits what
// a run without failures commits — the reference computed without the
// engine — each window exactly once, with no uncommitted file left.
func TestNode_fraud_SIGKILL(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	start := time.Now()
	const n, rate = 6000, 1000 // 2 subtasks: about 3 s of input
	input, txns := fraudInput(t, n)
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)

	out, state := t.TempDir(), t.TempDir()
	killThriceAndResume(t, rng, state, fraudArgs(input, out, state, rate))
	got, hidden := testkit.ReadCommitted[fraud.Spend](t, out)
	fraud.SortSpends(got)
	want := fraud.Reference(txns, 10*time.Second, 200_000)
	if !slices.Equal(got, want) {
		t.Errorf("committed %d spends, want the %d of the reference", len(got), len(want))
	}
	if len(hidden) > 0 {
		t.Errorf("uncommitted files left: %q", hidden)
	}
	t.Logf("crash test took %v", time.Since(start).Round(time.Millisecond))
}
