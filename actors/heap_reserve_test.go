package actors

import (
	"fmt"
	"math"
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

// startSmallEngine starts an engine of c with a quiet logger and small
// batches; the test closes it.
func startSmallEngine(t *testing.T, c Config) *Engine {
	t.Helper()
	c.Logger, c.BatchSize, c.BufferTimeout = QuietLogger(), 64, 1e6
	e, err := NewEngine(c)
	if err != nil {
		t.Fatal(err)
	}
	return e
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
func TestEngine_heapReserveByDefault(t *testing.T) {
	if inOwnProcess(t) {
		return
	}
	collectorDefaults(t)
	if wanting, _ := processHeapReserve.state(); wanting != 0 {
		t.Fatalf("%d engines want the reserve in a fresh process", wanting)
	}
	goal0 := heapGoal()
	e := startSmallEngine(t, Config{})
	if wanting, size := processHeapReserve.state(); wanting != 1 || size != DefaultHeapReserve {
		t.Errorf("engine running: %d engines want a %d-byte reserve, want 1 of %d", wanting, size, DefaultHeapReserve)
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
	if wanting, size := processHeapReserve.state(); wanting != 0 || size != 0 {
		t.Errorf("after Close: %d engines want %d bytes, want none", wanting, size)
	}
	if goal2 := heapGoal(); goal1-goal2 < DefaultHeapReserve*9/10 {
		t.Errorf("heap goal %d after Close, %d while the engine ran: the reserve was not let go", goal2, goal1)
	}
}

// reserveChildEnv marks the child processes of the reserve's tests.
const reserveChildEnv = "TROUPE_TEST_HEAP_RESERVE_CHILD"

// inOwnProcess runs the calling test again in a child process of its
// own, without GOGC and GOMEMLIMIT, and reports true in the parent, which
// then returns: the reserve and the collector's settings are the
// process's, and other tests' engines (the cluster tests' shared
// coordinator runs until the process ends) would claim them too. The
// child, where it reports false, runs the test's body; the parent fails
// unless the child ran the test and passed.
func inOwnProcess(t *testing.T) bool {
	t.Helper()
	if os.Getenv(reserveChildEnv) == t.Name() {
		return false
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(withoutCollectorEnv(os.Environ()), reserveChildEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	return true
}

// Where the engine, the environment or the program tunes the collector,
// there is no reserve.
func TestEngine_noHeapReserveWhenTuned(t *testing.T) {
	if inOwnProcess(t) {
		return
	}
	cases := []struct {
		name    string
		gogc    string
		memory  int64
		pct     int
		program func() // tunes the runtime as a program would
	}{
		{name: "a budget", memory: 256 * mib},
		{name: "GCPercent", pct: 100},
		{name: "GOGC in the environment", gogc: "100"},
		{name: "a target the program set", program: func() { debug.SetGCPercent(50) }},
		{name: "a soft limit the program set", program: func() { debug.SetMemoryLimit(1 << 30) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			collectorDefaults(t)
			t.Setenv("GOGC", tc.gogc)
			if tc.program != nil {
				tc.program()
			}
			wanting0, _ := processHeapReserve.state()
			e := startSmallEngine(t, Config{Memory: tc.memory, GCPercent: tc.pct})
			defer e.Close()
			if wanting, size := processHeapReserve.state(); wanting != wanting0 || size != 0 {
				t.Errorf("%d engines want a reserve of %d bytes, want the %d before and none: %s tunes the collector", wanting, size, wanting0, tc.name)
			}
		})
	}
}

// An engine that tunes the collector, started beside one that wants the
// reserve, in either order, takes the reserve away while it runs: its
// budget or target must not be blurred by 8 MiB the other one holds.
func TestEngine_heapReserveGivesWayToATunedEngine(t *testing.T) {
	if inOwnProcess(t) {
		return
	}
	for _, tuned := range []Config{{Memory: MinMemory}, {GCPercent: 100}} {
		for _, tunedFirst := range []bool{true, false} {
			t.Run(fmt.Sprintf("memory=%d,gcpercent=%d,tunedFirst=%v", tuned.Memory, tuned.GCPercent, tunedFirst), func(t *testing.T) {
				collectorDefaults(t)
				if _, size := processHeapReserve.state(); size != 0 {
					t.Fatal("another engine holds the reserve")
				}
				var plain, tunedE *Engine
				if tunedFirst {
					tunedE, plain = startSmallEngine(t, tuned), startSmallEngine(t, Config{})
				} else {
					plain, tunedE = startSmallEngine(t, Config{}), startSmallEngine(t, tuned)
				}
				if _, size := processHeapReserve.state(); size != 0 {
					t.Errorf("a %d-byte reserve while an engine tunes the collector", size)
				}
				_ = tunedE.Close()
				if _, size := processHeapReserve.state(); size != DefaultHeapReserve {
					t.Errorf("tuned engine closed, the other runs at the defaults: a %d-byte reserve, want %d", size, DefaultHeapReserve)
				}
				_ = plain.Close()
				if wanting, size := processHeapReserve.state(); wanting != 0 || size != 0 {
					t.Errorf("both closed: %d engines want a %d-byte reserve", wanting, size)
				}
			})
		}
	}
}

// The environment a process starts with decides, as the runtime reads
// it: an empty or malformed GOGC and GOMEMLIMIT=off are the runtime's
// defaults; GOGC=off, a valid GOGC and a soft limit tune the collector.
// Each case is a child process, since the runtime reads its environment
// only as it starts.
func TestConfig_heapReserveByEnvironment(t *testing.T) {
	if os.Getenv(reserveChildEnv) == "environment" {
		fmt.Printf("HEAPRESERVE %d\n", Config{}.HeapReserve())
		return
	}
	cases := []struct {
		env  []string
		want int
	}{
		{nil, DefaultHeapReserve},
		{[]string{"GOGC="}, DefaultHeapReserve},
		{[]string{"GOGC=lots"}, DefaultHeapReserve},
		{[]string{"GOMEMLIMIT=off"}, DefaultHeapReserve},
		{[]string{"GOGC=off"}, 0},
		{[]string{"GOGC=100"}, 0},
		{[]string{"GOGC=400"}, 0},
		{[]string{"GOMEMLIMIT=1GiB"}, 0},
	}
	for _, tc := range cases {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConfig_heapReserveByEnvironment$", "-test.count=1")
		cmd.Env = append(withoutCollectorEnv(os.Environ()), reserveChildEnv+"=environment")
		cmd.Env = append(cmd.Env, tc.env...)
		out, err := cmd.CombinedOutput()
		var got int
		if i := strings.Index(string(out), "HEAPRESERVE "); err != nil || i < 0 {
			t.Fatalf("%v: child: %v\n%s", tc.env, err, out)
		} else if _, err := fmt.Sscanf(string(out[i:]), "HEAPRESERVE %d", &got); err != nil {
			t.Fatalf("%v: %v in %q", tc.env, err, out)
		}
		if got != tc.want {
			t.Errorf("environment %v: HeapReserve %d, want %d", tc.env, got, tc.want)
		}
	}
}

// withoutCollectorEnv returns env without GOGC and GOMEMLIMIT.
func withoutCollectorEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			out = append(out, kv)
		}
	}
	return out
}

// Engines share one reserve: it stays while any of them runs, in
// whichever order they close, and is one allocation, not one each.
func TestEngine_heapReserveSharedByEngines(t *testing.T) {
	if inOwnProcess(t) {
		return
	}
	collectorDefaults(t)
	for _, aFirst := range []bool{true, false} {
		wanting0, _ := processHeapReserve.state()
		a, b := startSmallEngine(t, Config{}), startSmallEngine(t, Config{})
		if wanting, size := processHeapReserve.state(); wanting != wanting0+2 || size != DefaultHeapReserve {
			t.Errorf("two engines: %d want %d bytes, want %d of %d", wanting, size, wanting0+2, DefaultHeapReserve)
		}
		first, second := a, b
		if !aFirst {
			first, second = b, a
		}
		_ = first.Close()
		if wanting, size := processHeapReserve.state(); wanting != wanting0+1 || size != DefaultHeapReserve {
			t.Errorf("one engine closed: %d want %d bytes, want %d of %d", wanting, size, wanting0+1, DefaultHeapReserve)
		}
		_ = second.Close()
		if wanting, size := processHeapReserve.state(); wanting != wanting0 || (wanting0 == 0 && size != 0) {
			t.Errorf("both closed: %d want %d bytes, want %d", wanting, size, wanting0)
		}
	}
}

// A target or soft limit the program sets while a tuning engine runs is
// the program's: a second tuning engine does not overwrite it for good,
// an engine started afterwards does not want the reserve, and once the
// engines close the program has its value back and no reserve.
func TestEngine_programTuningWhileEnginesHoldTheSettings(t *testing.T) {
	if inOwnProcess(t) {
		return
	}
	for _, limit := range []bool{false, true} {
		t.Run(fmt.Sprintf("limit=%v", limit), func(t *testing.T) {
			collectorDefaults(t)
			debug.SetMemoryLimit(math.MaxInt64)
			first, second := Config{GCPercent: 200}, Config{GCPercent: 300}
			if limit {
				t.Setenv("GOGC", "100") // so that Memory sets the limit only
				first, second = Config{Memory: 256 * mib}, Config{Memory: 512 * mib}
			}
			a := startSmallEngine(t, first)
			if limit {
				debug.SetMemoryLimit(1 << 30)
			} else {
				debug.SetGCPercent(50)
			}
			b := startSmallEngine(t, second)
			t.Setenv("GOGC", "")
			plain := startSmallEngine(t, Config{})
			wanting, _ := processHeapReserve.state()
			_, _ = b.Close(), a.Close()
			_, size := processHeapReserve.state()
			gc, lim := readGCPercent(), memLimit()
			_ = plain.Close()
			if wanting != 0 {
				t.Errorf("the program tuned the collector before the plain engine started, yet %d engines want the reserve", wanting)
			}
			if size != 0 {
				t.Errorf("tuning engines closed: a %d-byte reserve beside the program's tuning", size)
			}
			if limit && lim != 1<<30 {
				t.Errorf("soft limit %d once the engines closed, want the program's %d", lim, 1<<30)
			}
			if !limit && gc != 50 {
				t.Errorf("GOGC %d once the engines closed, want the program's 50", gc)
			}
		})
	}
}
