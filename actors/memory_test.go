package actors

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
)

const mib = 1 << 20

// The derived settings of the memory budget, and the explicit ones it
// keeps or refuses, as docs/operations.md gives them.
func TestBudget_flow(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		memory                int64
		channels              int
		credits, batchBytes   int // explicit; 0: derived
		wantCredits, wantSize int
		err                   bool
	}{
		{"512 MiB, one channel: the default credits", 512 * mib, 1, 0, 0, 8, 256 << 10, false},
		{"512 MiB, 64 channels", 512 * mib, 64, 0, 0, 6, 256 << 10, false},
		{"512 MiB, 96 channels", 512 * mib, 96, 0, 0, 3, 256 << 10, false},
		{"512 MiB, 128 channels: fewest credits", 512 * mib, 128, 0, 0, 2, 256 << 10, false},
		{"512 MiB, 1024 channels: smaller batches", 512 * mib, 1024, 0, 0, 2, 32 << 10, false},
		{"4 GiB: batch bytes capped at 1 MiB", 4096 * mib, 1, 0, 0, 8, 1 << 20, false},
		{"16 MiB: 8 KiB batches", 16 * mib, 1, 0, 0, 8, 8 << 10, false},
		{"explicit credits kept", 512 * mib, 64, 3, 0, 3, 256 << 10, false},
		{"explicit batch bytes kept, credits fit them", 512 * mib, 32, 0, 1 << 20, 2, 1 << 20, false},
		{"explicit settings that do not fit", 512 * mib, 128, 8, 1 << 20, 0, 0, true},
		{"a job too large for the smallest settings", 16 * mib, 1024, 0, 0, 0, 0, true},
	} {
		cr, bb, err := budget{tc.memory}.flow(tc.channels, tc.credits, tc.batchBytes)
		if (err != nil) != tc.err || cr != tc.wantCredits || bb != tc.wantSize {
			t.Errorf("%s: credits %d, batch bytes %d, err %v; want %d, %d, error %v",
				tc.name, cr, bb, err, tc.wantCredits, tc.wantSize, tc.err)
			continue
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v does not wrap ErrConfig", tc.name, err)
		}
		if err == nil && int64(tc.channels)*int64(cr+senderBatches)*int64(bb) > tc.memory/4 {
			t.Errorf("%s: %d channels × (%d + %d) × %d bytes exceed a quarter of %d", tc.name, tc.channels, cr, senderBatches, bb, tc.memory)
		}
	}
}

func TestBudget_cacheAndAsync(t *testing.T) {
	b := budget{512 * mib}
	for _, tc := range []struct {
		name      string
		got       func() (int, error)
		want      int
		wantError bool
	}{
		{"cache derived over 4 subtasks", func() (int, error) { return b.cacheEntries(4, 0) }, 128 * mib / 256 / 4, false},
		{"cache explicit kept", func() (int, error) { return b.cacheEntries(4, 1000) }, 1000, false},
		{"cache explicit too large", func() (int, error) { return b.cacheEntries(4, 1<<20) }, 0, true},
		{"cache derived never below 64", func() (int, error) { return budget{16 * mib}.cacheEntries(1<<20, 0) }, 64, false},
		{"async derived over 8 subtasks", func() (int, error) { return b.asyncCeiling(8, 0) }, 64 * mib / 1024 / 8, false},
		{"async explicit kept", func() (int, error) { return b.asyncCeiling(8, 500) }, 500, false},
		{"async explicit too large", func() (int, error) { return b.asyncCeiling(8, 1<<20) }, 0, true},
	} {
		got, err := tc.got()
		if got != tc.want || (err != nil) != tc.wantError {
			t.Errorf("%s: %d, err %v; want %d, error %v", tc.name, got, err, tc.want, tc.wantError)
		}
	}
}

// NewEngine refuses a budget too small, a negative setting, and an
// explicit one that no job could fit; the error names it.
func TestConfig_validate_memory(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"too small", func(c *Config) { c.Memory = 1 * mib }, "Memory 1 MiB is below"},
		{"negative", func(c *Config) { c.Memory = -1 }, "must not be negative"},
		{"batches beyond a quarter", func(c *Config) { c.Memory, c.BatchBytes, c.Credits = 64*mib, 8*mib, 4 }, "more than a quarter of Memory 64 MiB"},
		{"cache beyond a quarter", func(c *Config) { c.Memory, c.StateCacheEntries = 64*mib, 1<<20 }, "StateCacheEntries 1048576"},
		{"async beyond an eighth", func(c *Config) { c.Memory, c.MaxAsyncCapacity = 64*mib, 1<<20 }, "MaxAsyncCapacity 1048576"},
	} {
		cfg := DefaultConfig()
		tc.mod(&cfg)
		err := cfg.validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: validate = %v, want ErrConfig naming %q", tc.name, err, tc.want)
		}
	}
}

// A job's derived settings follow its graph: its channels, keyed
// subtasks and async subtasks.
func TestConfig_forJob(t *testing.T) {
	p := operators.NewPipeline("demand").SetParallelism(4)
	src := operators.Generate(p, 10, func(i int64) int { return int(i) }).Parallelism(1)
	ks := operators.KeyBy(src, func(v int) int { return v })
	sum := operators.Reduce(ks, func(a, b int) int { return a + b })
	fn := func(context.Context, int) ([]int, error) { return nil, nil }
	operators.Discard(operators.AsyncMap(sum.Rebalance(), fn, operators.AsyncConfig[int, int]{}))
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	d := demandOf(g)
	// source 1 → 4 keyed (4 channels), 4 → 4 async (16 channels)
	if d != (jobDemand{channels: 20, keyed: 4, asyncSubtasks: 4}) {
		t.Fatalf("demand = %+v, want 20 channels, 4 keyed, 4 async subtasks", d)
	}
	cfg := DefaultConfig()
	cfg.Memory = 512 * mib
	got, err := validated(t, cfg).forJob(g)
	if err != nil {
		t.Fatal(err)
	}
	b := budget{512 * mib}
	wantCr, wantBB, _ := b.flow(20, 0, 0)
	wantCache, _ := b.cacheEntries(4, 0)
	wantAsync, _ := b.asyncCeiling(4, 0)
	if got.Credits != wantCr || got.BatchBytes != wantBB || got.StateCacheEntries != wantCache || got.MaxAsyncCapacity != wantAsync {
		t.Fatalf("forJob: credits %d, batch bytes %d, cache %d, async %d; want %d, %d, %d, %d", got.Credits, got.BatchBytes,
			got.StateCacheEntries, got.MaxAsyncCapacity, wantCr, wantBB, wantCache, wantAsync)
	}
	// Without a budget, nothing is derived.
	plain, err := validated(t, DefaultConfig()).forJob(g)
	if err != nil || plain.Credits != DefaultCredits || plain.BatchBytes != 0 || plain.StateCacheEntries != 0 || plain.MaxAsyncCapacity != 0 {
		t.Fatalf("forJob without Memory: %+v, %v", plain, err)
	}
}

// An async capacity the pipeline set above the ceiling fails the submit,
// naming the operator; a default one is lowered and the job runs.
func TestEngine_Submit_asyncCapacityAboveTheCeiling(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.MaxAsyncCapacity = 10 })
	build := func(capacity int) *operators.JobGraph {
		p := operators.NewPipeline("ceiling")
		fn := func(_ context.Context, v int) ([]int, error) { return []int{v}, nil }
		out := operators.AsyncMap(operators.FromSlice(p, []int{1, 2, 3}), fn, operators.AsyncConfig[int, int]{Capacity: capacity}).Name("lookup")
		operators.Discard(out)
		g, err := p.Build()
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	_, err := e.Submit(build(50))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `"lookup"`) || !strings.Contains(err.Error(), "Capacity 50") {
		t.Fatalf("Submit with Capacity 50 over a ceiling of 10: %v, want ErrConfig naming the operator", err)
	}
	job, err := e.Submit(build(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := waitJob(t, job); err != nil {
		t.Fatalf("a default capacity under a ceiling: %v", err)
	}
}

// The budget is the process's soft memory limit while the engine runs;
// Close puts the previous limit back.
func TestEngine_memoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	e, err := NewEngine(Config{Memory: 256 * mib, Logger: QuietLogger(), BatchSize: 64, BufferTimeout: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 256*mib {
		t.Errorf("soft memory limit %d while the engine runs, want %d", got, 256*mib)
	}
	_ = e.Close()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("soft memory limit %d after Close, want the one before, %d", got, before)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{12: "12 B", 300 << 10: "300 KiB", 512 * mib: "512 MiB", 1536 * mib: "1.5 GiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// A node runs an attempt's subtasks with what the master derived from its
// budget (wire.RuntimeConfig), not with a derivation of its own.
func TestTaskManager_agentConfig_takesTheMastersBudget(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Memory = 64 * mib })
	tm := &TaskManager{e: e}
	rc := &wire.RuntimeConfig{BatchSize: 16, BufferTimeoutNanos: 1e6, Credits: 3, BatchBytes: 4096, StateCacheEntries: 100, MaxAsyncCapacity: 7}
	cfg, err := tm.agentConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Credits != 3 || cfg.BatchBytes != 4096 || cfg.StateCacheEntries != 100 || cfg.MaxAsyncCapacity != 7 || cfg.Memory != 0 {
		t.Fatalf("agent config: credits %d, batch bytes %d, cache %d, async %d, memory %d; want the master's 3, 4096, 100, 7 and no budget of its own",
			cfg.Credits, cfg.BatchBytes, cfg.StateCacheEntries, cfg.MaxAsyncCapacity, cfg.Memory)
	}
}

// Remote's fragments are the batch bytes when Remote.BatchBytes is not
// set: explicit, or derived from the budget.
func TestConfig_validate_remoteBatchBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want int
	}{
		{"default", func(*Config) {}, defaultBatchBytes},
		{"explicit BatchBytes", func(c *Config) { c.BatchBytes = 64 << 10 }, 64 << 10},
		{"derived from Memory", func(c *Config) { c.Memory = 64 * mib }, 32 << 10},
		{"Remote's own", func(c *Config) { c.Memory, c.Remote.BatchBytes = 64*mib, 100<<10 }, 100 << 10},
	} {
		cfg := DefaultConfig()
		cfg.Remote = &RemoteConfig{}
		tc.mod(&cfg)
		if got := validated(t, cfg).Remote.BatchBytes; got != tc.want {
			t.Errorf("%s: Remote.BatchBytes %d, want %d", tc.name, got, tc.want)
		}
	}
}
