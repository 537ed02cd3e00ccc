package actors

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
)

// gatedService holds every call until open is closed, then answers after
// a random latency up to maxLatency.
type gatedService struct {
	open       chan struct{}
	maxLatency time.Duration
	running    atomic.Int64
}

func (s *gatedService) call(ctx context.Context, v int) ([]int, error) {
	s.running.Add(1)
	defer s.running.Add(-1)
	select {
	case <-s.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	t := time.NewTimer(rand.N(s.maxLatency) + time.Microsecond) // the service's random latency
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return []int{2 * v}, nil
}

// localIDs returns the ids of the engine's live actors containing part.
func localIDs(e *Engine, part string) []string {
	var ids []string
	for _, m := range e.sys.ProcessRegistry.LocalPIDs.LocalPIDs {
		for _, id := range m.Keys() {
			if strings.Contains(id, part) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// parentOf returns the id of the actor that spawned id.
func parentOf(id string) string { return id[:max(strings.LastIndex(id, "/"), 0)] }

// startGated submits source → AsyncMap(svc) → collect and waits until
// capacity calls are held by the service; it returns the job, its output
// and the sequencer's id.
func startGated(t *testing.T, e *Engine, svc *gatedService, n int, cfg operators.AsyncConfig[int, int]) (*Job, *operators.Collected[int], string) {
	t.Helper()
	p := operators.NewPipeline("async-seq")
	src := operators.FromSlice(p, seq(n)).Parallelism(1)
	c := operators.Collect(operators.AsyncMap(src, svc.call, cfg).Name("lookup").Parallelism(1)).Parallelism(1)
	job := submit(t, e, p)
	eventually(t, 10*time.Second, func() bool { return svc.running.Load() == int64(cfg.Capacity) }, "calls held")
	ids := localIDs(e, "/"+asyncSequencerPrefix)
	if len(ids) != 1 {
		t.Fatalf("sequencer actors %q, want one", ids)
	}
	return job, c, ids[0]
}

// The sequencer is a child actor of the async operator's subtask, beside
// the invokers; results come out in input order whatever the invokers'
// latencies.
func TestAsyncMap_engine_sequencerChildOrdersRandomLatency(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.BatchSize = 64 })
	svc := &gatedService{open: make(chan struct{}), maxLatency: 2 * time.Millisecond}
	cfg := operators.AsyncConfig[int, int]{Capacity: 40, Workers: 8}
	job, c, seqID := startGated(t, e, svc, 3000, cfg)
	parent := parentOf(seqID)
	if !strings.Contains(parent, "/a1/v") {
		t.Fatalf("sequencer %q is not a subtask's child", seqID)
	}
	if _, ok := e.sys.ProcessRegistry.GetLocal(parent); !ok {
		t.Fatalf("sequencer's parent %q is not a live actor", parent)
	}
	if siblings := localIDs(e, parent+"/"); len(siblings) != 1+cfg.Workers {
		t.Fatalf("subtask's children %q, want the sequencer and %d invokers", siblings, cfg.Workers)
	}
	close(svc.open)
	if err := waitJob(t, job); err != nil {
		t.Fatal(err)
	}
	got := c.Values()
	for i, v := range doubled(3000) {
		if i >= len(got) || got[i] != v {
			t.Fatalf("value %d is not %d (%d values): ordered mode broke input order", i, v, len(got))
		}
	}
	if len(got) != 3000 {
		t.Fatalf("%d values, want 3000", len(got))
	}
}

// A panic in the sequencer fails the subtask, as a panic of the subtask
// itself would: the sequencer is supervised by it.
func TestAsyncMap_engine_sequencerPanicFailsSubtask(t *testing.T) {
	e := newTestEngine(t, nil)
	svc := &gatedService{open: make(chan struct{}), maxLatency: time.Millisecond}
	job, _, seqID := startGated(t, e, svc, 100, operators.AsyncConfig[int, int]{Capacity: 10})
	e.sys.Root.Send(actor.NewPID(e.sys.Address(), seqID), "not a sequencer message")
	err := waitJob(t, job)
	var pe *PanicError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "async sequencer got a string") {
		t.Fatalf("job error %v, want the sequencer's panic", err)
	}
}

// Key-ordered mode keeps each key's records in input order under random
// latency, while different keys overtake each other.
func TestAsyncMap_engine_keyOrderedRandomLatency(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.BatchSize = 64 })
	svc := &service{maxLatency: time.Millisecond}
	p, c := asyncJob(seq(2000), svc, operators.AsyncConfig[int, int]{Mode: async.KeyOrdered, Capacity: 50,
		Workers: 8, Key: func(v int) uint64 { return uint64(v % 7) }})
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	last := map[int]int{}
	got := c.Values()
	for _, v := range got {
		k := v / 2 % 7
		if prev, ok := last[k]; ok && v <= prev {
			t.Fatalf("key %d: %d after %d", k, v, prev)
		}
		last[k] = v
	}
	if len(got) != 2000 {
		t.Fatalf("%d values, want 2000", len(got))
	}
}
