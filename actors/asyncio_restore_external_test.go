package actors_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
	"github.com/troupe-dev/troupe/persistence"
	"github.com/troupe-dev/troupe/testkit"
)

// keyed is a record of the keyed async job: its key and its sequence
// number at the source.
type keyed struct {
	Key int64 `json:"key"`
	Seq int64 `json:"seq"`
}

func keyedID(r keyed) testkit.RecordID { return testkit.RecordID{Source: "gen", Seq: r.Seq} }

// asyncKeyedJob builds gen → keyBy → route (a keyed pass-through) →
// lookup (ordered AsyncMap) → collect, at parallelism par after the
// source. The edges after the route are forward: each lookup subtask sees
// only the keys of its key groups, and each key's records travel one path
// to one sink subtask, in order.
func asyncKeyedJob(n, keys int64, par int) (*operators.Pipeline, *operators.Collected[keyed]) {
	p := operators.NewPipeline(fmt.Sprintf("async-keyed-%d", par)).SetParallelism(par)
	src := operators.Generate(p, n, func(i int64) keyed { return keyed{Key: i % keys, Seq: i} }).Name("gen").Parallelism(1)
	ks := operators.KeyBy(src, func(r keyed) int64 { return r.Key })
	route := operators.ProcessKeyed(ks, func(_ *operators.KeyedContext[int64], r keyed, out operators.Collector[keyed]) error {
		out.Collect(r, operators.NoTimestamp)
		return nil
	}).Name("route")
	looked := operators.AsyncMap(route, slowLookup, operators.AsyncConfig[keyed, keyed]{Mode: async.Ordered, Capacity: 16}).Name("lookup")
	return p, operators.Collect(looked)
}

// slowLookup answers after up to a millisecond, so that the lookup
// subtasks are at capacity: every checkpoint holds records in flight.
func slowLookup(ctx context.Context, r keyed) ([]keyed, error) {
	t := time.NewTimer(rand.N(time.Millisecond)) // the simulated service's latency
	defer t.Stop()
	select {
	case <-t.C:
		return []keyed{r}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// heldStore is an in-memory checkpoint store that also notes how many
// entries (records and watermarks in flight) the lookup subtasks held in
// each checkpoint. It is armed while the latest complete checkpoint has a
// lookup subtask holding two or more: a restore from it has in-flight
// input to give back, and round robin would move some to another subtask.
type heldStore struct {
	*persistence.MemStore
	mu    sync.Mutex
	held  map[int64]int // most entries one lookup subtask held, by checkpoint
	armed atomic.Bool
}

func (s *heldStore) WriteState(id int64, task string, data []byte) (string, error) {
	st, err := operators.UnmarshalSubtaskState(data)
	if err != nil {
		return "", err
	}
	if os := st["lookup"]; os != nil && os.Operator != nil {
		n := 0
		for _, list := range os.Operator.Lists {
			n += len(list)
		}
		s.mu.Lock()
		s.held[id] = max(s.held[id], n)
		s.mu.Unlock()
	}
	return s.MemStore.WriteState(id, task, data)
}

// WriteStateFrom takes the streamed path through WriteState, so that no
// write escapes the count (the embedded MemStore streams too).
func (s *heldStore) WriteStateFrom(ctx context.Context, id int64, task string, src persistence.StateSource) (string, error) {
	var buf bytes.Buffer
	if err := src.Encode(ctx, &buf); err != nil {
		return "", err
	}
	return s.WriteState(id, task, buf.Bytes())
}

func (s *heldStore) CommitMetadata(m *persistence.Metadata) (string, error) {
	path, err := s.MemStore.CommitMetadata(m)
	if err == nil {
		s.mu.Lock()
		s.armed.Store(s.held[m.ID] >= 2)
		s.mu.Unlock()
	}
	return path, err
}

// armedFaults shows records to the test's Faults only while the store is
// armed, so that a rule at record 1 fails the job at its first record
// after a checkpoint with input in flight.
type armedFaults struct {
	*testkit.Faults
	store *heldStore
}

func (f armedFaults) BeforeRecord(op operators.TaskInfo) {
	if f.store.armed.Load() {
		f.Faults.BeforeRecord(op)
	}
}

// An ordered async operator behind a keyed exchange, at parallelism 2 and
// 4, fails while records are in flight and restarts from a checkpoint
// that holds some: every record is committed exactly once, each key's in
// input order and by one sink subtask. Each restored subtask must get
// back its own pending records: given to another, they come out on
// another channel, after or before records of their key that came later.
func TestAsyncMap_engine_restoreKeepsEachSubtasksInFlightRecords(t *testing.T) {
	for _, par := range []int{2, 4} {
		t.Run(fmt.Sprintf("parallelism%d", par), func(t *testing.T) {
			const n, keys = 4000, 23
			store := &heldStore{MemStore: persistence.NewMemStore("async-restore", 3), held: map[int64]int{}}
			faults := armedFaults{Faults: testkit.NewFaults(), store: store}
			faults.FailAt("lookup", testkit.AtRecord(1))
			cfg := actors.DefaultConfig()
			cfg.Logger = actors.QuietLogger()
			cfg.BatchSize = 16
			cfg.Checkpoint.Interval = 10 * time.Millisecond
			cfg.Checkpoint.Store = func(string, string) (actors.CheckpointStore, error) { return store, nil }
			cfg.Restart = actors.FixedDelay(3, time.Millisecond)
			cfg.Faults = faults
			e, err := actors.NewEngine(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Close() })

			p, sink := asyncKeyedJob(n, keys, par)
			ctx, cancel := context.WithTimeout(context.Background(), testkit.Dilated(60*time.Second))
			defer cancel()
			if err := e.Run(ctx, p); err != nil {
				t.Fatal(err)
			}
			if fired := faults.Fired(); len(fired) != 1 {
				t.Fatalf("faults fired %v: want one failure after a checkpoint with records in flight", fired)
			}
			sent := map[string][]int64{"gen": testkit.SeqRange(0, n)}
			testkit.AssertExactlyOnce(t, sent, sink.Values(), keyedID,
				testkit.InOrderBy(func(r keyed) int64 { return r.Key }))
			checkOnePathPerKey(t, sink.BySubtask())
		})
	}
}

// checkOnePathPerKey checks that every key was committed by one sink
// subtask: the one its key group's forward path leads to.
func checkOnePathPerKey(t *testing.T, parts [][]operators.Element[keyed]) {
	t.Helper()
	owner := map[int64]int{}
	for i, part := range parts {
		for _, e := range part {
			if o, ok := owner[e.Value.Key]; ok && o != i {
				t.Fatalf("key %d committed by sink subtasks %d and %d (record %d): it left its path", e.Value.Key, o, i, e.Value.Seq)
			}
			owner[e.Value.Key] = i
		}
	}
}
