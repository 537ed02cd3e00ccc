package actors

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

type kv struct{ K, V int64 }

func TestEngine_Run_keyedRunningSum(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("sum")
	src := operators.Generate(p, 10000, func(i int64) kv { return kv{K: i % 10, V: i} }).Parallelism(2)
	ks := operators.KeyBy(src, func(r kv) int64 { return r.K })
	sum := operators.Reduce(ks, func(a, b kv) kv { return kv{K: a.K, V: a.V + b.V} }).Parallelism(3)
	c := operators.Collect(sum)
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	vals := c.Values()
	if len(vals) != 10000 {
		t.Fatalf("got %d values, want 10000", len(vals))
	}
	final := map[int64]int64{}
	for _, r := range vals {
		final[r.K] = max(final[r.K], r.V)
	}
	for k := range int64(10) {
		want := int64(0)
		for i := k; i < 10000; i += 10 {
			want += i
		}
		if final[k] != want {
			t.Errorf("key %d: final sum %d, want %d", k, final[k], want)
		}
	}
}

func TestPartitioning_Forward(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("forward").SetParallelism(3)
	src := operators.Generate(p, 3000, func(i int64) int64 { return i })
	m := operators.Map(src.Forward(), func(v int64) int64 { return v }).Name("id")
	// Break the chain so records cross a channel: a second consumer makes
	// the map a vertex of its own.
	c := operators.Collect(m)
	operators.Discard(src)
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	for sub, part := range c.BySubtask() {
		for i, el := range part {
			if int(el.Value%3) != sub {
				t.Fatalf("subtask %d got %d from subtask %d", sub, el.Value, el.Value%3)
			}
			if i > 0 && el.Value <= part[i-1].Value {
				t.Fatalf("subtask %d: order broken at %d", sub, i)
			}
		}
	}
	if n := len(c.Values()); n != 3000 {
		t.Fatalf("got %d records, want 3000", n)
	}
}

func TestPartitioning_Hash(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("hash").SetMaxParallelism(16)
	src := operators.FromSlice(p, seq(5000)).Parallelism(2)
	ks := operators.KeyBy(src, func(v int) int { return v % 97 })
	m := operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[int], v int, out operators.Collector[int]) error {
		out.Collect(v, ctx.Timestamp())
		return nil
	}).Parallelism(4)
	c := operators.Collect(m).Parallelism(4)
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	total := 0
	for sub, part := range c.BySubtask() {
		total += len(part)
		for _, el := range part {
			kg := operators.KeyGroup(operators.HashKey(el.Value%97), 16)
			if want := operators.SubtaskOf(kg, 4, 16); want != sub {
				t.Fatalf("key %d went to subtask %d, owner is %d", el.Value%97, sub, want)
			}
		}
	}
	if total != 5000 {
		t.Fatalf("got %d records, want 5000", total)
	}
}

func TestPartitioning_Rebalance(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("rebalance")
	src := operators.FromSlice(p, seq(9000))
	m := operators.Map(src.Rebalance(), func(v int) int { return v }).Parallelism(3)
	c := operators.Collect(m).Parallelism(3)
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	parts := c.BySubtask()
	if len(parts) != 3 {
		t.Fatalf("%d subtasks got records, want 3", len(parts))
	}
	for sub, part := range parts {
		if len(part) != 3000 {
			t.Errorf("subtask %d got %d records, want 3000 (round robin)", sub, len(part))
		}
		for i := 1; i < len(part); i++ {
			if part[i].Value <= part[i-1].Value {
				t.Fatalf("subtask %d: order broken at %d", sub, i)
			}
		}
	}
}

func TestPartitioning_Broadcast(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("broadcast")
	src := operators.FromSlice(p, seq(1000)).Parallelism(2)
	c := operators.Collect(src.Broadcast()).Parallelism(3)
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	parts := c.BySubtask()
	if len(parts) != 3 {
		t.Fatalf("%d subtasks got records, want 3", len(parts))
	}
	for sub, part := range parts {
		got := make([]int, len(part))
		for i, el := range part {
			got[i] = el.Value
		}
		if !slices.Equal(sorted(got), seq(1000)) {
			t.Errorf("subtask %d did not get every record once (%d records)", sub, len(got))
		}
	}
}

func TestParallelismChanges(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("widths")
	src := operators.FromSlice(p, seq(20000)).Parallelism(2)
	a := operators.Map(src, func(v int) int { return v * 2 }).Parallelism(3)
	b := operators.Filter(a, func(v int) bool { return v%4 == 0 }).Parallelism(5)
	c := operators.Collect(operators.FlatMap(b, func(v int, emit func(int)) { emit(v); emit(v + 1) }))
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	var want []int
	for i := range 20000 {
		if v := i * 2; v%4 == 0 {
			want = append(want, v, v+1)
		}
	}
	if got := sorted(c.Values()); !slices.Equal(got, sorted(want)) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
}

func TestUnion_endOfInputFromEveryInput(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("union")
	short := operators.FromSlice(p, []int{-1, -2})
	long := operators.Generate(p, 50000, func(i int64) int { return int(i) }).Parallelism(2)
	third := operators.FromSlice(p, []int{-3}).Parallelism(3)
	u := operators.Union(short, long, third).Parallelism(2)
	c := operators.Collect(u)
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	got := c.Values()
	if len(got) != 50003 {
		t.Fatalf("got %d records, want 50003: the job ended before every input did", len(got))
	}
}

func TestJob_Cancel(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("endless")
	var produced atomic.Int64
	src := operators.Generate(p, -1, func(i int64) int64 { produced.Add(1); return i })
	c := operators.Collect(operators.Map(src, func(v int64) int64 { return v + 1 }))
	job := submit(t, e, p)
	eventually(t, 10e9, func() bool { return len(c.Values()) > 1000 }, "records to flow")
	job.Cancel()
	if err := waitJob(t, job); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Wait = %v, want ErrCancelled", err)
	}
	if s := job.State(); s != JobCancelled {
		t.Fatalf("state %v, want cancelled", s)
	}
	n := produced.Load()
	job.Cancel() // idempotent on an ended job
	if produced.Load() != n {
		t.Fatal("the source kept producing after cancel returned")
	}
}

func TestJob_StopDrainsUnboundedSource(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("stop")
	src := operators.Generate(p, -1, func(i int64) int64 { return i })
	ks := operators.KeyBy(src, func(v int64) int64 { return v % 5 })
	c := operators.Collect(operators.Reduce(ks, func(a, b int64) int64 { return b }).Parallelism(2))
	job := submit(t, e, p)
	eventually(t, 10e9, func() bool { return len(c.Values()) > 5000 }, "records to flow")
	job.Stop()
	if err := waitJob(t, job); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	got := sorted(c.Values())
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("output is not a gap-free prefix: position %d holds %d", i, v)
		}
	}
}

func TestJob_OperatorPanicFailsJob(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("panics").SetParallelism(2)
	src := operators.FromSlice(p, seq(10000))
	m := operators.Map(src.Rebalance(), func(v int) int {
		if v == 7777 {
			panic("boom at 7777")
		}
		return v
	}).Name("fragile")
	operators.Collect(operators.Filter(m, func(int) bool { return true }).Parallelism(1))
	job := submit(t, e, p)
	err := waitJob(t, job)
	var se *SubtaskError
	if !errors.As(err, &se) {
		t.Fatalf("Wait = %v, want a *SubtaskError", err)
	}
	var pe *PanicError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "boom at 7777") {
		t.Fatalf("cause %v is not the panic", err)
	}
	if !strings.Contains(err.Error(), `"fragile`) || !strings.Contains(err.Error(), "subtask") {
		t.Fatalf("error %q does not name the operator and subtask", err)
	}
	if job.State() != JobFailed {
		t.Fatalf("state %v, want failed", job.State())
	}
}

func TestJob_OperatorErrorNamesOperator(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("errs")
	src := operators.FromSlice(p, seq(100))
	bad := errors.New("record 42 is bad")
	m := operators.Process(src, func(ctx *operators.ProcessContext, v int, out operators.Collector[int]) error {
		ts := ctx.Timestamp()
		if v == 42 {
			return bad
		}
		out.Collect(v, ts)
		return nil
	}).Name("validate")
	operators.Discard(m)
	err := runPipeline(t, e, p)
	var oe *operators.OperatorError
	if !errors.Is(err, bad) || !errors.As(err, &oe) || oe.Operator != "validate" || oe.Subtask != 0 {
		t.Fatalf("got %v, want the error of operator validate subtask 0", err)
	}
}

func TestJob_RestartFromScratch(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Restart = FixedDelay(2, 0) })
	p := operators.NewPipeline("restart")
	var failed atomic.Bool
	src := operators.FromSlice(p, seq(1000))
	m := operators.Map(src, func(v int) int {
		if v == 500 && failed.CompareAndSwap(false, true) {
			panic("first attempt dies")
		}
		return v
	})
	c := operators.Collect(m)
	job := submit(t, e, p)
	if err := waitJob(t, job); err != nil {
		t.Fatalf("restarted job failed: %v", err)
	}
	if job.Restarts() != 1 {
		t.Fatalf("restarts = %d, want 1", job.Restarts())
	}
	// Without checkpoints a restart replays from the start: the second
	// attempt's output is complete.
	if got := c.Values(); len(got) < 1000 {
		t.Fatalf("got %d records after restart, want at least 1000", len(got))
	}
}

func TestEngine_ConfigValidation(t *testing.T) {
	for _, mod := range []func(*Config){
		func(c *Config) { c.BatchSize = 0 },
		func(c *Config) { c.Credits = -1 }, // 0 takes the default
		func(c *Config) { c.BufferTimeout = 0 },
	} {
		cfg := DefaultConfig()
		mod(&cfg)
		if _, err := NewEngine(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("NewEngine(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

func TestEngine_SubmitAfterClose(t *testing.T) {
	e := newTestEngine(t, nil)
	_ = e.Close()
	_ = e.Close()
	p := operators.NewPipeline("late")
	operators.Discard(operators.FromSlice(p, seq(3)))
	g, _ := p.Build()
	if _, err := e.Submit(g); !errors.Is(err, ErrEngineClosed) {
		t.Fatalf("Submit after Close = %v", err)
	}
}
