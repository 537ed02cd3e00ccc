package actors

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/troupe-dev/troupe/operators"
)

// busySink does about a microsecond of work per record, so that it is the
// job's bottleneck and every operator before it is backpressured.
type busySink struct {
	got  []int
	sink uint64
}

func (s *busySink) Write(v int, _ int64) error {
	for i := range 1000 {
		s.sink = s.sink*31 + uint64(i^v)
	}
	s.got = append(s.got, v)
	return nil
}

// A FlatMap that emits many records per input fills many batches from one
// input batch (or one poll of its source): the subtask must stop between
// two records once its output waits for credit, rather than queue the
// whole batch's output (before the fix: 1280 records, all of a 32-record
// batch's output). What waits for credit is then the batch that found no
// credit and the rest of one record's output: here at most 2 batches,
// the credits × batch size the memory budget counts on. No record is
// lost on the way.
func TestSubtask_flatMapOutputBoundedByCredits(t *testing.T) {
	const batch, credits, n, fan = 32, 2, 400, 40
	for _, tc := range []struct {
		name  string
		build func(src operators.Stream[int]) operators.Stream[int]
	}{
		// chained to its source: a poll of batch records fans out
		{"chained to the source", func(src operators.Stream[int]) operators.Stream[int] {
			return fanOut(src, fan)
		}},
		// a vertex of its own: an input batch fans out
		{"after a channel", func(src operators.Stream[int]) operators.Stream[int] {
			return fanOut(src.Rebalance(), fan)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, func(c *Config) { c.BatchSize, c.Credits = batch, credits })
			p := operators.NewPipeline("fan-out")
			src := operators.Generate(p, n, func(i int64) int { return int(i) })
			sink := &busySink{}
			operators.ToSink(tc.build(src).Rebalance(), "busy", func(*operators.TaskContext) (operators.SinkWriter[int], error) {
				return sink, nil
			})
			job := submit(t, e, p)
			if err := waitJob(t, job); err != nil {
				t.Fatal(err)
			}
			checkFanOut(t, sink.got, n, fan)
			samples := job.Metrics()
			if len(samples) == 0 {
				t.Fatal("no metrics sampled")
			}
			// one batch without credit, and one record's output: 2 batches
			limit := int64(batch * (1 + (fan+batch-1)/batch))
			for _, s := range samples {
				t.Logf("%s/%d: at most %d records waited for credit", s.Vertex, s.Subtask, s.OutputQueuedMax)
				if s.OutputQueuedMax > limit {
					t.Errorf("%s/%d: %d records waited for credit at once, more than a batch and one record's output (%d)",
						s.Vertex, s.Subtask, s.OutputQueuedMax, limit)
				}
			}
		})
	}
}

// fanOut emits fan records per input: v*fan, v*fan+1, …
func fanOut(s operators.Stream[int], fan int) operators.Stream[int] {
	return operators.FlatMap(s, func(v int, emit func(int)) {
		for i := range fan {
			emit(v*fan + i)
		}
	})
}

// checkFanOut checks that got holds every fanned-out record of n inputs
// exactly once.
func checkFanOut(t *testing.T, got []int, n, fan int) {
	t.Helper()
	seen := make([]bool, n*fan)
	for _, v := range got {
		if v < 0 || v >= len(seen) || seen[v] {
			t.Fatalf("record %d unexpected or duplicated", v)
		}
		seen[v] = true
	}
	if len(got) != n*fan {
		t.Fatalf("sink got %d records, want %d", len(got), n*fan)
	}
}

// On the batch path (operators/batch_path.go) a chain hands records on in
// runs and stops only between two runs. A run is no longer than the
// chain's output batch, so what waits for credit on a channel stays
// within the two batches at the sender that the memory budget counts
// (senderBatches): the one that found no credit, and the one being
// filled when the buffer timeout ships it. Here the generator and a map
// run into a hash edge of 2 channels, and the keyed reduce into one. The
// map after it takes input batches of 8 ints (BatchBytes) and turns them
// into records of 32 bytes, 3 to a batch, so its runs are 3 long: with
// runs of an input batch's 8 it queued 10 records, more than two
// batches. The busy sink holds everything back. Every record arrives
// once.
func TestSubtask_runsOutputBoundedByCredits(t *testing.T) {
	const credits, n = 2, 20000
	batchBytes := 8 * int(unsafe.Sizeof(operators.Element[int]{}))
	wideBatch := int64(batchBytes / int(unsafe.Sizeof(operators.Element[[4]int64]{})))
	e := newTestEngine(t, func(c *Config) {
		c.BatchSize, c.BatchBytes, c.Credits, c.BufferTimeout = 1024, batchBytes, credits, time.Millisecond
	})
	p := operators.NewPipeline("runs")
	src := operators.Generate(p, n, func(i int64) int { return int(i) })
	keyed := operators.KeyBy(operators.Map(src, func(v int) int { return v }).Name("map"), func(v int) int { return v })
	last := operators.Reduce(keyed, func(_, v int) int { return v }).Parallelism(2)
	widened := operators.Map(last, func(v int) [4]int64 { return [4]int64{int64(v), 1, 2, 3} }).Name("widen")
	sink := &busySink{}
	operators.ToSink(widened.Rebalance(), "busy", func(*operators.TaskContext) (operators.SinkWriter[[4]int64], error) {
		return wideSink{sink}, nil
	}).Parallelism(1)
	job := submit(t, e, p)
	if err := waitJob(t, job); err != nil {
		t.Fatal(err)
	}
	checkFanOut(t, sink.got, n, 1)
	samples := job.Metrics()
	if len(samples) == 0 {
		t.Fatal("no metrics sampled")
	}
	for _, s := range samples {
		limit := int64(2 * senderBatches * 8) // two channels of 8 ints
		if strings.HasSuffix(s.Vertex, "widen") {
			limit = senderBatches * wideBatch
		}
		t.Logf("%s/%d: at most %d records waited for credit", s.Vertex, s.Subtask, s.OutputQueuedMax)
		if s.OutputQueuedMax > limit {
			t.Errorf("%s/%d: %d records waited for credit at once, more than %d batches per channel (%d)",
				s.Vertex, s.Subtask, s.OutputQueuedMax, senderBatches, limit)
		}
	}
}

// wideSink writes the first number of each record to a busySink.
type wideSink struct{ s *busySink }

func (w wideSink) Write(v [4]int64, ts int64) error { return w.s.Write(int(v[0]), ts) }
