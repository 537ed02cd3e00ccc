package actors

import (
	"errors"
	"runtime/metrics"
	"strings"
	"testing"
)

// gogc reads the collector's target without changing it.
func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("runtime/metrics has no /gc/gogc:percent")
	}
	return int(s[0].Value.Uint64())
}

// A budget sets the documented default target while the engine runs, an
// explicit GCPercent wins, GOGC in the environment is kept, and Close
// puts the target back (to the value -1 reads as: off).
func TestEngine_gcPercent(t *testing.T) {
	cases := []struct {
		name   string
		env    string // GOGC; "" unset
		memory int64
		pct    int
		want   int // while the engine runs; 0: unchanged
	}{
		{name: "budget: the default", memory: 256 * mib, want: DefaultGCPercent},
		{name: "no budget: the runtime's", want: 0},
		{name: "explicit without a budget", pct: 300, want: 300},
		{name: "explicit with a budget", memory: 256 * mib, pct: 150, want: 150},
		{name: "off under a budget", memory: 256 * mib, pct: GCOff, want: GCOff},
		{name: "GOGC in the environment is kept", env: "250", memory: 256 * mib, want: 0},
		{name: "explicit wins over GOGC", env: "250", memory: 256 * mib, pct: 120, want: 120},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("GOGC", tc.env)
			}
			before := gogc(t)
			e, err := NewEngine(Config{Memory: tc.memory, GCPercent: tc.pct, Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6})
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == 0 {
				want = before
			}
			if got := gogc(t); got != want && !(want == GCOff && got > 1<<30) {
				t.Errorf("GOGC %d while the engine runs, want %d", got, want)
			}
			_ = e.Close()
			_ = e.Close() // idempotent: must not restore twice
			if got := gogc(t); got != before {
				t.Errorf("GOGC %d after Close, want the one before, %d", got, before)
			}
		})
	}
}

// Off needs a limit to collect at, and no target is below off: both are
// refused before the engine starts, naming GCPercent.
func TestConfig_gcPercentRefused(t *testing.T) {
	for _, tc := range []struct {
		memory int64
		pct    int
		want   string
	}{
		{0, GCOff, "needs Memory"},
		{256 * mib, -2, "GCPercent -2"},
	} {
		before := gogc(t)
		_, err := NewEngine(Config{Memory: tc.memory, GCPercent: tc.pct, Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("GCPercent %d, Memory %d: %v, want ErrConfig naming %q", tc.pct, tc.memory, err, tc.want)
		}
		if got := gogc(t); got != before {
			t.Errorf("a refused config changed GOGC from %d to %d", before, got)
		}
	}
}
