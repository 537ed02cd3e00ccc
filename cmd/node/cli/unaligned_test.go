package cli

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
)

// --unaligned makes checkpoints unaligned; --alignment-timeout starts them
// aligned and switches after it. Both need checkpoints, and the timeout
// needs --unaligned, as Flink's aligned-checkpoint-timeout does.
func TestParseRun_unaligned(t *testing.T) {
	ra, err := parseRun([]string{"wc", "--checkpoint-interval", "100ms", "--unaligned", "--alignment-timeout", "30ms"})
	if err != nil {
		t.Fatal(err)
	}
	if !ra.unaligned || ra.alignmentTimeout != 30*time.Millisecond {
		t.Fatalf("unaligned %v, timeout %v", ra.unaligned, ra.alignmentTimeout)
	}
	ck := &checkpointing{interval: ra.interval, unaligned: ra.unaligned, alignmentTimeout: ra.alignmentTimeout}
	cfg := actors.DefaultConfig()
	ck.configure(&cfg)
	if !cfg.Checkpoint.Unaligned || cfg.Checkpoint.AlignmentTimeout != 30*time.Millisecond {
		t.Fatalf("engine config %+v", cfg.Checkpoint)
	}
	for args, want := range map[string]string{
		"wc --unaligned": "--unaligned needs --checkpoint-interval",
		"wc --checkpoint-interval 1s --alignment-timeout 1s":                  "--alignment-timeout needs --unaligned",
		"wc --checkpoint-interval 1s --unaligned --alignment-timeout soon":    "alignment-timeout",
		"wc --checkpoint-interval 1s --unaligned --alignment-timeout -1s":     "alignment-timeout",
		"wc --checkpoint-interval 1s --unaligned --alignment-timeout 0s --fo": "fo",
	} {
		if _, err := parseRun(strings.Fields(args)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error about %q", args, err, want)
		}
	}
}

// node submit carries the settings in the job request.
func TestJobFlags_request_unaligned(t *testing.T) {
	jf := jobFlags{interval: time.Second, unaligned: true, alignmentTimeout: 20 * time.Millisecond}
	req := jf.request("wc")
	if !req.Unaligned || req.AlignmentTimeout != "20ms" || req.CheckpointInterval != "1s" {
		t.Fatalf("request %+v", req)
	}
}

// node run with unaligned checkpoints: a stop with savepoint (aligned)
// and a resume commit every count exactly once.
func TestMain_run_unaligned_resumesExactlyOnce(t *testing.T) {
	input, out, state := bigText(t, 3000), t.TempDir(), t.TempDir()
	args := []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out, "-p", "rate=3000",
		"--parallelism", "2", "--checkpoint-interval", "20ms", "--state-dir", state, "--unaligned", "--alignment-timeout", "5ms"}
	sp := stopWithSavepoint(t, state, 2, args...)
	code, _, errOut := runMain(t, testRegistry(t, io.Discard), args...)
	if code != ExitOK || !strings.Contains(errOut, "resuming from checkpoint "+sp) {
		t.Fatalf("rerun: exit %d, stderr %q; want 0 and a resume from %s", code, errOut, sp)
	}
	checkCounts(t, committedOutput(t, out), totals(t, input))
}
