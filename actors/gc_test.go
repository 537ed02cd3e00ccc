package actors

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
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

// memLimit reads the soft memory limit without changing it.
func memLimit() int64 { return debug.SetMemoryLimit(-1) }

// reviewEngine starts an engine with a budget and a target for the
// review tests below, closed at the test's end (Close is idempotent).
func reviewEngine(t *testing.T, memory int64, pct int) *Engine {
	t.Helper()
	e, err := NewEngine(Config{Memory: memory, GCPercent: pct, Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// keepProcessGC puts the collector's target and the soft limit back at
// the test's end whatever the engines left, so that a failure here does
// not leak into the next test.
func keepProcessGC(t *testing.T) (gc int, limit int64) {
	gc, limit = debug.SetGCPercent(100), memLimit()
	debug.SetGCPercent(gc)
	t.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })
	return gc, limit
}

// Two engines in one process (a test's cluster, an embedding program):
// whichever closes first, once both are closed the process has the
// collector's target and soft limit it had before either started.
func TestReviewGC_closeInAnyOrderPutsBackTheProcessSettings(t *testing.T) {
	for _, aFirst := range []bool{true, false} {
		t.Run(map[bool]string{true: "A then B", false: "B then A"}[aFirst], func(t *testing.T) {
			gcBefore, limitBefore := keepProcessGC(t)
			a := reviewEngine(t, 256*mib, 800)
			b := reviewEngine(t, 512*mib, 300)
			if aFirst {
				_, _ = a.Close(), b.Close()
			} else {
				_, _ = b.Close(), a.Close()
			}
			if got := gogc(t); got != gcBefore {
				t.Errorf("GOGC %d once both engines closed, want the one before, %d", got, gcBefore)
			}
			if got := memLimit(); got != limitBefore {
				t.Errorf("soft memory limit %d once both engines closed, want the one before, %d", got, limitBefore)
			}
		})
	}
}

// An engine that is still running keeps its own settings when another
// closes: above all GCOff keeps its soft limit, without which nothing
// would collect the heap (what validateGC refuses at the start).
func TestReviewGC_aRunningEngineKeepsItsSettings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bPct  int
		wantB int
	}{
		{"B off", GCOff, GCOff},
		{"B the same as A", 800, 800},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keepProcessGC(t)
			a := reviewEngine(t, 256*mib, 800)
			reviewEngine(t, 256*mib, tc.bPct)
			_ = a.Close()
			if got := gogc(t); got != tc.wantB && !(tc.wantB == GCOff && got > 1<<30) {
				t.Errorf("GOGC %d while B runs, after A closed; want B's, %d", got, tc.wantB)
			}
			if got := memLimit(); got != 256*mib {
				t.Errorf("soft memory limit %d while B (Memory 256 MiB, GCPercent %d) runs, after A closed; want B's, %d",
					got, tc.bPct, 256*mib)
			}
		})
	}
}

// runtime/debug.SetGCPercent takes an int32: a larger GCPercent is
// refused (naming it), not wrapped round to a negative target, which the
// runtime reads as off, without a soft limit to collect at.
func TestReviewGC_gcPercentBeyondTheRuntimes(t *testing.T) {
	for _, big := range []int64{math.MaxInt32 + 1, math.MaxUint32} {
		pct := int(big)
		if int64(pct) != big {
			t.Skip("int has 32 bits here: no GCPercent can exceed the runtime's int32")
		}
		keepProcessGC(t)
		e, err := NewEngine(Config{GCPercent: pct, Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6})
		if err == nil {
			got := gogc(t)
			_ = e.Close()
			t.Errorf("GCPercent %d: NewEngine started with GOGC %d (off: %v) and no memory limit; want ErrConfig", pct, got, got < 0 || got > 1<<30)
			continue
		}
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "GCPercent") {
			t.Errorf("GCPercent %d: %v, want ErrConfig naming GCPercent", pct, err)
		}
	}
	if e, err := NewEngine(Config{GCPercent: math.MaxInt32, Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6}); err != nil {
		t.Errorf("GCPercent %d, the runtime's largest: %v", math.MaxInt32, err)
	} else {
		_ = e.Close()
	}
}

// The runtime reads an empty or malformed GOGC as no GOGC (100): the
// engine's default with a budget then applies as it would without one.
func TestReviewGC_gogcTheRuntimeIgnoredIsNotKept(t *testing.T) {
	for _, env := range []string{"", "lots", "OFF"} {
		t.Run(fmt.Sprintf("GOGC=%q", env), func(t *testing.T) {
			keepProcessGC(t)
			debug.SetGCPercent(100) // what the runtime made of it
			t.Setenv("GOGC", env)
			reviewEngine(t, 256*mib, 0)
			if got := gogc(t); got != DefaultGCPercent {
				t.Errorf("GOGC=%q, which the runtime ignored, and a budget: GOGC %d, want the default %d", env, got, DefaultGCPercent)
			}
		})
	}
}

// Engines started and closed at once on several goroutines (nodes of a
// test's cluster) leave the process as they found it: each engine's
// settings are put back under one lock, not in two runtime calls another
// engine's may fall between.
func TestReviewGC_parallelEnginesPutBackTheProcessSettings(t *testing.T) {
	gcBefore, limitBefore := keepProcessGC(t)
	for round := range 20 {
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				e, err := NewEngine(Config{Memory: int64(64+i) * mib, GCPercent: 200 + i, Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6})
				if err != nil {
					t.Error(err)
					return
				}
				_ = e.Close()
			})
		}
		wg.Wait()
		if gc, limit := gogc(t), memLimit(); gc != gcBefore || limit != limitBefore {
			t.Fatalf("round %d: GOGC %d and soft limit %d once every engine closed, want the ones before, %d and %d",
				round, gc, limit, gcBefore, limitBefore)
		}
	}
}
