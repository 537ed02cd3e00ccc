package cli

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
)

func TestParseRestart(t *testing.T) {
	tests := []struct {
		in   string
		want actors.RestartStrategy
	}{
		{"none", actors.NoRestart()},
		{"fixed:3:10s", actors.FixedDelay(3, 10*time.Second)},
		{"fixed:0:0s", actors.FixedDelay(0, 0)},
		{"exp:1s:1m:1.5", actors.ExponentialDelay(time.Second, time.Minute, 1.5, restartJitter)},
		{"exp:10ms:10ms:1", actors.ExponentialDelay(10*time.Millisecond, 10*time.Millisecond, 1, restartJitter)},
		{"rate:3:5m:10s", actors.FailureRate(3, 5*time.Minute, 10*time.Second)},
	}
	for _, tt := range tests {
		got, err := parseRestart(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseRestart(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseRestart_errors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "want none, fixed"},
		{"always", "want none, fixed"},
		{"none:1", "want none, fixed"},
		{"fixed:3", "want none, fixed"},
		{"fixed:3:1s:2", "want none, fixed"},
		{"fixed:-1:1s", `ATTEMPTS "-1"`},
		{"fixed:x:1s", `ATTEMPTS "x"`},
		{"fixed:3:soon", `DELAY "soon"`},
		{"fixed:3:-1s", `DELAY "-1s"`},
		{"exp:1s:1m", "want none, fixed"},
		{"exp:1s:1m:0.5", `MULT "0.5"`},
		{"exp:1s:1m:x", `MULT "x"`},
		{"exp:0s:1m:2", "0 < INITIAL <= MAX"},
		{"exp:1m:1s:2", "0 < INITIAL <= MAX"},
		{"exp:x:1s:2", `INITIAL "x"`},
		{"exp:1s:x:2", `MAX "x"`},
		{"rate:0:1m:1s", `FAILURES "0"`},
		{"rate:3:0s:1s", "INTERVAL must be positive"},
		{"rate:3:1m:x", `DELAY "x"`},
	}
	for _, tt := range tests {
		if _, err := parseRestart(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseRestart(%q) = %v; want an error with %q", tt.in, err, tt.want)
		}
	}
}

// A bad --restart is a usage error naming the flag, found before the job
// starts.
func TestMain_run_badRestart(t *testing.T) {
	code, stdout, stderr := runMain(t, testRegistry(t, io.Discard), "run", "fail", "--restart", "fixed:two:1s")
	if code != ExitUsage || stdout != "" || !strings.Contains(stderr, `"fixed:two:1s" for flag -restart`) ||
		!strings.Contains(stderr, `ATTEMPTS "two"`) || strings.Contains(stderr, "kaboom") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 naming the flag and its value, no job", code, stdout, stderr)
	}
}

// Without checkpoints, --restart restarts the job from the beginning and
// says so each time; when the attempts are used up, the job fails.
func TestMain_run_restartWithoutCheckpoints(t *testing.T) {
	code, _, stderr := runMain(t, testRegistry(t, io.Discard), "run", "fail", "--restart", "fixed:2:1ms")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1; stderr %q", code, stderr)
	}
	for _, want := range []string{
		`node run: job "fail" restart 1 (attempt 2) after: operator "ints -> explode -> discard-3" subtask 1/1 failed: operator "explode" subtask 1/1: kaboom at 2; no checkpoint to restore`,
		`node run: job "fail" restart 2 (attempt 3) after: `,
		`node run: job "fail" failed: `,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "restart 3") {
		t.Errorf("stderr %q: a third restart, want two", stderr)
	}
}
