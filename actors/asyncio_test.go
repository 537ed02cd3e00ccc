package actors

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
)

// service simulates a remote service: each call takes a random latency
// up to maxLatency (0: instant) and counts how many calls run at once.
type service struct {
	maxLatency       time.Duration
	running, peak    atomic.Int64
	calls            atomic.Int64
	failOn           int // a value whose call fails; 0: none
	blockUntilCancel bool
}

var errService = errors.New("service: internal error")

func (s *service) call(ctx context.Context, v int) ([]int, error) {
	s.calls.Add(1)
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	if s.blockUntilCancel {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if s.maxLatency > 0 {
		t := time.NewTimer(rand.N(s.maxLatency)) // the simulated service's latency
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.failOn != 0 && v == s.failOn {
		return nil, errService
	}
	return []int{2 * v}, nil
}

// asyncJob builds source(values) → AsyncMap(svc) → collect, parallelism 1.
func asyncJob(values []int, svc *service, cfg operators.AsyncConfig[int, int]) (*operators.Pipeline, *operators.Collected[int]) {
	p := operators.NewPipeline("async")
	src := operators.FromSlice(p, values).Parallelism(1)
	out := operators.AsyncMap(src, svc.call, cfg).Name("lookup").Parallelism(1)
	return p, operators.Collect(out).Parallelism(1)
}

func doubled(n int) []int {
	want := make([]int, n)
	for i := range want {
		want[i] = 2 * i
	}
	return want
}

// Ordered and unordered results are exact with a service of random
// latency: ordered in input order, unordered as a permutation.
func TestAsyncMap_engine_randomLatency(t *testing.T) {
	for _, mode := range []async.Mode{async.Ordered, async.Unordered} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newTestEngine(t, func(c *Config) { c.BatchSize = 64 })
			svc := &service{maxLatency: 2 * time.Millisecond}
			p, c := asyncJob(seq(2000), svc, operators.AsyncConfig[int, int]{Mode: mode, Capacity: 50})
			if err := runPipeline(t, e, p); err != nil {
				t.Fatal(err)
			}
			got := c.Values()
			if mode == async.Unordered {
				slices.Sort(got)
			}
			if !slices.Equal(got, doubled(2000)) {
				t.Fatalf("got %d values, not the doubled input (first %v)", len(got), got[:min(10, len(got))])
			}
			if svc.peak.Load() < 2 {
				t.Fatalf("peak concurrency %d: calls did not overlap", svc.peak.Load())
			}
		})
	}
}

// Capacity 2 bounds the calls in flight; every record still comes out.
func TestAsyncMap_engine_capacityBoundsCalls(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.BatchSize = 16 })
	svc := &service{maxLatency: 500 * time.Microsecond}
	p, c := asyncJob(seq(500), svc, operators.AsyncConfig[int, int]{Mode: async.Unordered, Capacity: 2})
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	if peak := svc.peak.Load(); peak > 2 || len(c.Values()) != 500 {
		t.Fatalf("peak %d calls in flight (capacity 2), %d values", peak, len(c.Values()))
	}
}

// An error from the function fails the job, naming the error.
func TestAsyncMap_engine_errorFailsJob(t *testing.T) {
	e := newTestEngine(t, nil)
	svc := &service{maxLatency: 100 * time.Microsecond, failOn: 300}
	p, _ := asyncJob(seq(1000), svc, operators.AsyncConfig[int, int]{})
	if err := runPipeline(t, e, p); !errors.Is(err, errService) {
		t.Fatalf("job error %v, want the service's error", err)
	}
}

// A function that never returns is timed out: the job fails with
// ErrAsyncTimeout, and the calls' goroutines end (checked on cleanup).
func TestAsyncMap_engine_timeoutFailsJob(t *testing.T) {
	e := newTestEngine(t, nil)
	svc := &service{blockUntilCancel: true}
	p, _ := asyncJob(seq(10), svc, operators.AsyncConfig[int, int]{Timeout: 20 * time.Millisecond})
	if err := runPipeline(t, e, p); !errors.Is(err, operators.ErrAsyncTimeout) {
		t.Fatalf("job error %v, want ErrAsyncTimeout", err)
	}
}

// Cancelling a job whose calls hang returns, and leaves no goroutine
// behind (checked on cleanup).
func TestAsyncMap_engine_cancelDoesNotHang(t *testing.T) {
	e := newTestEngine(t, nil)
	svc := &service{blockUntilCancel: true}
	p, _ := asyncJob(seq(100), svc, operators.AsyncConfig[int, int]{Capacity: 10})
	job := submit(t, e, p)
	eventually(t, 5*time.Second, func() bool { return svc.running.Load() == 10 }, "10 calls running")
	job.Cancel()
	eventually(t, 5*time.Second, func() bool { return svc.running.Load() == 0 }, "calls cancelled")
}

// A timeout handler's values replace hung calls, and end of input waits
// for them without hanging.
func TestAsyncMap_engine_timeoutHandler(t *testing.T) {
	e := newTestEngine(t, nil)
	svc := &service{blockUntilCancel: true}
	p, c := asyncJob(seq(20), svc, operators.AsyncConfig[int, int]{Mode: async.Unordered, Capacity: 5,
		Timeout: 5 * time.Millisecond, OnTimeout: func(v int) ([]int, error) { return []int{-v}, nil }})
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	if got := c.Values(); len(got) != 20 {
		t.Fatalf("%d values, want 20", len(got))
	}
}
