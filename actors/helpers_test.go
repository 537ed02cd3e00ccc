package actors

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// closeTimeout bounds how long a test waits for Engine.Close or
// Job.Cancel, so that a stuck job fails the test instead of hanging it.
const closeTimeout = 10 * time.Second

// newTestEngine returns an engine with a quiet logger, closed on cleanup,
// after which the test fails if the engine did not close in time or
// goroutines were left behind.
func newTestEngine(t testing.TB, mod func(*Config)) *Engine {
	t.Helper()
	before := runtime.NumGoroutine()
	cfg := DefaultConfig()
	cfg.Logger = QuietLogger()
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() {
		if !returnsWithin(closeTimeout, func() { _ = e.Close() }) {
			t.Errorf("Engine.Close did not return within %v: a job's actors did not stop", closeTimeout)
			return
		}
		waitGoroutines(t, before)
	})
	return e
}

// returnsWithin calls fn and reports whether it returned within d. If it
// did not, the goroutine running it is left behind, stuck: the test fails.
func returnsWithin(d time.Duration, fn func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// waitGoroutines polls until the goroutine count is back to at most n.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // yield the CPU while polling; not a wait for an event
	}
}

func runPipeline(t testing.TB, e *Engine, p *operators.Pipeline) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return e.Run(ctx, p)
}

func submit(t testing.TB, e *Engine, p *operators.Pipeline, opts ...SubmitOption) *Job {
	t.Helper()
	g, err := p.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	job, err := e.Submit(g, opts...)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return job
}

func waitJob(t testing.TB, job *Job) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := job.Wait(ctx)
	if err == context.DeadlineExceeded {
		t.Fatalf("job %s did not end; state %v", job.Name(), job.State())
	}
	return err
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func sorted[T int | int64 | string](v []T) []T {
	v = slices.Clone(v)
	slices.Sort(v)
	return v
}
