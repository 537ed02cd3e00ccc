package actors

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
)

// collectorDefaults makes the environment and the process's target what
// the runtime has when nothing tunes the collector: no GOGC (empty is
// ignored), no GOMEMLIMIT, a target of 100.
func collectorDefaults(t *testing.T) {
	t.Helper()
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	keepProcessGC(t)
	debug.SetGCPercent(100)
}

// heapGoal collects and returns the heap goal the collector then set.
func heapGoal() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// The documented default holds: an engine whose collector nothing tunes
// holds the reserve, the collector counts it, so the heap goal rises by
// about the reserve at a target of 100, and Close (twice) lets go of it.
// The heap goal is the process's, and another test's engine may hold the
// reserve already, so the test runs in a child process of its own.
func TestEngine_heapReserveByDefault(t *testing.T) {
	if os.Getenv(reserveChildEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEngine_heapReserveByDefault$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), reserveChildEnv+"=1")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS: TestEngine_heapReserveByDefault") {
			t.Fatalf("child process: %v\n%s", err, out)
		}
		return
	}
	collectorDefaults(t)
	if holders, _ := processHeapReserve.state(); holders != 0 {
		t.Fatalf("%d holders of the reserve in a fresh process", holders)
	}
	goal0 := heapGoal()
	e, err := NewEngine(Config{Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	if holders, size := processHeapReserve.state(); holders != 1 || size != DefaultHeapReserve {
		t.Errorf("engine running: %d holders of a %d-byte reserve, want 1 of %d", holders, size, DefaultHeapReserve)
	}
	goal1 := heapGoal()
	// The reserve adds itself at 100 %; the engine's own live heap adds
	// less than a MiB, so without the reserve the goal rises by 2 MiB at
	// most.
	if rise := goal1 - goal0; rise < DefaultHeapReserve*9/10 {
		t.Errorf("heap goal %d → %d with the engine running: rose by %d bytes, want about the reserve, %d", goal0, goal1, rise, DefaultHeapReserve)
	}
	_ = e.Close()
	_ = e.Close() // idempotent: lets go once
	if holders, size := processHeapReserve.state(); holders != 0 || size != 0 {
		t.Errorf("after Close: %d holders of %d bytes, want none", holders, size)
	}
	if goal2 := heapGoal(); goal1-goal2 < DefaultHeapReserve*9/10 {
		t.Errorf("heap goal %d after Close, %d while the engine ran: the reserve was not let go", goal2, goal1)
	}
}

// reserveChildEnv marks the child process of TestEngine_heapReserveByDefault.
const reserveChildEnv = "TROUPE_TEST_HEAP_RESERVE_CHILD"

// Where the engine or the user tunes the collector, there is no reserve.
func TestEngine_noHeapReserveWhenTuned(t *testing.T) {
	cases := []struct {
		name, gogc, memlimit string
		memory               int64
		pct                  int
	}{
		{name: "a budget", memory: 256 * mib},
		{name: "GCPercent", pct: 100},
		{name: "GOGC in the environment", gogc: "100"},
		{name: "GOMEMLIMIT in the environment", memlimit: "1GiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			collectorDefaults(t)
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.memlimit)
			holders0, _ := processHeapReserve.state()
			e, err := NewEngine(Config{Memory: tc.memory, GCPercent: tc.pct, Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if holders, _ := processHeapReserve.state(); holders != holders0 {
				t.Errorf("%d holders of the reserve, want the %d before: %s tunes the collector", holders, holders0, tc.name)
			}
		})
	}
}

// Engines share one reserve: it stays while any of them runs, in
// whichever order they close, and is one allocation, not one each.
func TestEngine_heapReserveSharedByEngines(t *testing.T) {
	collectorDefaults(t)
	for _, aFirst := range []bool{true, false} {
		holders0, _ := processHeapReserve.state()
		a, err := NewEngine(Config{Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6})
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewEngine(Config{Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6})
		if err != nil {
			t.Fatal(err)
		}
		if holders, size := processHeapReserve.state(); holders != holders0+2 || size != DefaultHeapReserve {
			t.Errorf("two engines: %d holders of %d bytes, want %d of %d", holders, size, holders0+2, DefaultHeapReserve)
		}
		first, second := a, b
		if !aFirst {
			first, second = b, a
		}
		_ = first.Close()
		if holders, size := processHeapReserve.state(); holders != holders0+1 || size != DefaultHeapReserve {
			t.Errorf("one engine closed: %d holders of %d bytes, want %d of %d", holders, size, holders0+1, DefaultHeapReserve)
		}
		_ = second.Close()
		if holders, size := processHeapReserve.state(); holders != holders0 || (holders0 == 0 && size != 0) {
			t.Errorf("both closed: %d holders of %d bytes, want %d", holders, size, holders0)
		}
	}
}
