package actors

import (
	"context"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

func newTestEngine(t testing.TB, mod func(*Config)) *Engine {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Logger = QuietLogger()
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func runPipeline(t testing.TB, e *Engine, p *operators.Pipeline) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.Run(ctx, p)
}

func TestSmoke(t *testing.T) {
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("smoke")
	src := operators.Generate(p, 10000, func(i int64) int64 { return i })
	m := operators.Map(src, func(v int64) int64 { return v * 2 })
	ks := operators.KeyBy(m, func(v int64) int64 { return v % 10 })
	sum := operators.Reduce(ks, func(a, b int64) int64 { return a + b }).Parallelism(3)
	c := operators.Collect(sum)
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	if got := len(c.Values()); got != 10000 {
		t.Fatalf("got %d values", got)
	}
}
