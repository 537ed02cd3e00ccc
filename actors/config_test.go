package actors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// Each default documented on Config's fields holds for DefaultConfig as
// NewEngine validates it, with and without checkpointing.
func TestDefaultConfig_documentedDefaults(t *testing.T) {
	plain := validated(t, DefaultConfig())
	ckpt := DefaultConfig()
	ckpt.Checkpoint.Interval = time.Second
	ckpt = validated(t, ckpt)
	tests := []struct {
		name      string
		got, want any
	}{
		{"BatchSize", plain.BatchSize, 1024},
		{"BufferTimeout", plain.BufferTimeout, 10 * time.Millisecond},
		{"Credits", plain.Credits, 8},
		{"Restart", plain.Restart, NoRestart()},
		{"Restart/checkpointing", ckpt.Restart, ExponentialDelay(time.Second, time.Minute, 1.5, 0.1)},
		{"Logger", plain.Logger != nil, true},
		{"Checkpoint.Interval", plain.Checkpoint.Interval, time.Duration(0)},
		{"Checkpoint.Timeout", ckpt.Checkpoint.Timeout, 10 * time.Minute},
		{"Checkpoint.MinPause", ckpt.Checkpoint.MinPause, time.Duration(0)},
		{"Checkpoint.TolerableFailures", ckpt.Checkpoint.TolerableFailures, 0},
		{"Checkpoint.AtLeastOnce", ckpt.Checkpoint.AtLeastOnce, false},
		{"Checkpoint.Store", ckpt.Checkpoint.Store != nil, true},
		{"Faults", plain.Faults, operators.FaultInjector(nil)},
		{"StateBackend", plain.StateBackend, ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// An explicit strategy is kept, with or without checkpointing.
func TestConfig_validate_keepsRestart(t *testing.T) {
	for _, interval := range []time.Duration{0, time.Second} {
		cfg := DefaultConfig()
		cfg.Checkpoint.Interval = interval
		cfg.Restart = FixedDelay(2, time.Millisecond)
		if got := validated(t, cfg).Restart; got != FixedDelay(2, time.Millisecond) {
			t.Errorf("interval %v: Restart = %v, want the FixedDelay set", interval, got)
		}
	}
}

func validated(t *testing.T, cfg Config) Config {
	t.Helper()
	cfg.Logger = nil
	if err := cfg.validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return cfg
}

// A job on DefaultConfig with checkpointing restarts after a failure (the
// first delay is 1 s ± 10 %) and commits every record once.
func TestDefaultConfig_checkpointing_restarts(t *testing.T) {
	const n, keys = 4000, 13
	fault := &faultAfterCheckpoint{op: "count", after: n / 2}
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Faults = fault
	})
	p, sink := countPipeline(n, keys, 4000)
	j := submit(t, e, p)
	fault.job.Store(j)
	if err := waitJob(t, j); err != nil {
		t.Fatalf("job failed: %v; want a restart from its checkpoint", err)
	}
	if !fault.fired.Load() || j.Restarts() != 1 {
		t.Fatalf("fault fired %v, restarts %d; want one failure and one restart", fault.fired.Load(), j.Restarts())
	}
	checkCounts(t, sink.Values(), n, keys)
}

// A job on DefaultConfig without checkpointing fails at its first failure.
func TestDefaultConfig_noCheckpointing_failsAtOnce(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("fail")
	boom := errors.New("boom")
	m := operators.Process(operators.FromSlice(p, seq(10)), func(_ *operators.ProcessContext, v int, _ operators.Collector[int]) error {
		if v == 5 {
			return boom
		}
		return nil
	})
	operators.Discard(m)
	j := submit(t, e, p)
	if err := waitJob(t, j); !errors.Is(err, boom) || j.Restarts() != 0 {
		t.Fatalf("err %v, restarts %d; want boom and no restart", err, j.Restarts())
	}
}

// Every place in the docs that states the default of Credits states
// DefaultCredits: the default went from 4 to 8, and a page that still
// says 4 sizes an operator's expectations of memory in flight (and of a
// node's remote creditBound) by half.
func TestDocs_creditsDefault(t *testing.T) {
	re := regexp.MustCompile("(?is)credits`?[^.]{0,40}?\\(?default (\\d+)")
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	found := 0
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatchIndex(text, -1) {
			found++
			n, _ := strconv.Atoi(string(text[m[2]:m[3]]))
			if n != DefaultCredits {
				line := 1 + bytes.Count(text[:m[0]], []byte("\n"))
				t.Errorf("%s:%d: %q gives %d credits as the default, DefaultCredits is %d",
					filepath.Base(f), line, text[m[0]:m[1]], n, DefaultCredits)
			}
		}
	}
	if found == 0 {
		t.Fatal("no default of Credits found in the docs: the pattern no longer matches them")
	}
}
