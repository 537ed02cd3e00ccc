package fraud

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/testkit"
)

const testStart = 1_767_225_600_000 // 2026-01-01, epoch ms

// txnsFile writes n generated transactions to a file of the test's and
// returns its path and the transactions.
func txnsFile(t testing.TB, n, accounts int) (string, []Txn) {
	t.Helper()
	var b bytes.Buffer
	if err := Generate(&b, n, accounts, testStart, 11); err != nil {
		t.Fatal(err)
	}
	txns, err := ReadTxns(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "txns.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, txns
}

// The pipeline computes the reference, exactly once, with failures at a
// record, at a snapshot and at a restore of the detector, in three
// attempts at parallelism 2.
func TestNew_exactlyOnceUnderFailures(t *testing.T) {
	const n = 6000
	input, txns := txnsFile(t, n, 40)
	r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond),
		testkit.WithRestart(actors.FixedDelay(10, time.Millisecond)))
	r.Faults().FailAt("detector", testkit.AtRecord(900), testkit.InSubtask(0))
	r.Faults().FailAtSnapshot("detector", testkit.AtRecord(3), testkit.InSubtask(1), testkit.InAttempt(1))
	r.Faults().FailAtRestore("detector", testkit.InSubtask(0), testkit.InAttempt(2))
	out := t.TempDir()
	p := New(Config{Input: input, Output: out, Window: 10 * time.Second, Limit: 200_000, Rate: 3000}).SetParallelism(2)
	if res := r.Run(p); res.State != actors.JobFinished || res.Restarts != 3 {
		t.Fatalf("got %v with faults %v; want finished after 3 restarts", res, r.Faults().Fired())
	}
	got, others := testkit.ReadCommitted[Spend](t, out)
	if len(others) > 0 {
		t.Fatalf("uncommitted files left: %v", others)
	}
	SortSpends(got)
	want := Reference(txns, 10*time.Second, 200_000)
	if !slices.Equal(got, want) {
		t.Fatalf("committed %d spends, the reference has %d; first difference %s", len(got), len(want), firstDiff(got, want))
	}
	alerts := 0
	for _, s := range want {
		if s.Alert {
			alerts++
		}
	}
	if alerts == 0 || alerts == len(want) {
		t.Fatalf("%d alerts among %d windows: the input should give some, not all", alerts, len(want))
	}
}

func firstDiff(a, b []Spend) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmtSpend(a[i]) + " vs " + fmtSpend(b[i])
		}
	}
	return "at the end"
}

func fmtSpend(s Spend) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// The detector in the keyed-actor harness: a window closes when the
// watermark passes its end, above the limit it is an alert, a
// transaction after its window closed is late, and the open window and
// its timer survive a snapshot.
func TestDetector_harness(t *testing.T) {
	account := func(t Txn) string { return t.Account }
	h := testkit.NewKeyedActorHarness[Txn, string, Spend](t, account, DetectorProps(10*time.Millisecond, 100))
	h.ProcessElement(Txn{Account: "a", Amount: 60, At: 1}, 1)
	h.ProcessElement(Txn{Account: "a", Amount: 50, At: 4}, 4)
	h.ProcessElement(Txn{Account: "b", Amount: 7, At: 12}, 12)
	h.ProcessWatermark(9) // closes a's window [0, 10)
	h.ProcessElement(Txn{Account: "a", Amount: 1, At: 5}, 5)
	if got := h.Values(); len(got) != 2 ||
		got[0] != (Spend{Account: "a", Start: 0, End: 10, Amount: 110, Count: 2, Alert: true}) ||
		got[1] != (Spend{Account: "a", Start: 0, End: 10, Amount: 1, Count: 1, Late: true}) {
		t.Fatalf("spends %+v", got)
	}
	timers := h.RegisteredTimers()
	if len(timers) != 1 || timers[0].Key != "b" || timers[0].Time != 19 {
		t.Fatalf("timers %v, want b's at 19", timers)
	}
	snap := h.Snapshot(1)
	restored := testkit.NewKeyedActorHarness[Txn, string, Spend](t, account, DetectorProps(10*time.Millisecond, 100),
		testkit.RestoreFrom(snap))
	restored.EndInput()
	if got := restored.Values(); len(got) != 1 || got[0] != (Spend{Account: "b", Start: 10, End: 20, Amount: 7, Count: 1}) {
		t.Fatalf("after the restore: spends %+v", got)
	}
}

func TestSpec_badParams(t *testing.T) {
	input, _ := txnsFile(t, 10, 2)
	reg := actors.NewRegistry()
	reg.MustRegister(Spec())
	for _, params := range []map[string]string{
		{"input": input, "window": "0s"},
		{"input": input, "limit": "0"},
		{"input": input, "rate": "-1"},
		{"input": filepath.Join(t.TempDir(), "missing.jsonl")},
	} {
		if _, err := reg.Build(Name, params, 2); !errors.Is(err, actors.ErrBadParam) {
			t.Errorf("params %v: got %v, want ErrBadParam", params, err)
		}
	}
	if _, err := reg.Build(Name, map[string]string{"input": input}, 2); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}
