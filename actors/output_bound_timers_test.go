package actors

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/watermark"
)

// A watermark that jumps over many timers fires them all at once: a
// window operator closing n windows, a keyed process function's n
// event-time timers. Their output must wait for credit as a FlatMap's
// does (TestSubtask_flatMapOutputBoundedByCredits): the subtask stops
// between two firings once its output waits for credit and goes on with
// the rest on credit, so what waits for credit stays within a batch and
// one firing's output (2 batches), not the n records of the whole jump.
// Every firing's record still reaches the sink exactly once.
func TestSubtask_timerFiringOutputBoundedByCredits(t *testing.T) {
	const batch, credits, n = 32, 2, 5000
	for _, tc := range []struct {
		name string
		fire func(operators.KeyedStream[kv, int64]) operators.Stream[kv]
	}{
		{"window", func(ks operators.KeyedStream[kv, int64]) operators.Stream[kv] {
			return operators.ReduceWindow(operators.Window(ks, window.Tumbling(time.Millisecond)),
				func(a, b kv) kv { return kv{K: a.K, V: a.V + b.V} })
		}},
		{"keyed timers", func(ks operators.KeyedStream[kv, int64]) operators.Stream[kv] {
			return operators.ProcessKeyedWithTimers(ks,
				func(ctx *operators.KeyedContext[int64], v kv, _ operators.Collector[kv]) error {
					ctx.RegisterEventTimer(v.V)
					return nil
				},
				func(ctx *operators.KeyedContext[int64], tm operators.Timer, out operators.Collector[kv]) error {
					out.Collect(kv{K: ctx.Key(), V: tm.Time}, tm.Time)
					return nil
				})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, func(c *Config) { c.BatchSize, c.Credits = batch, credits })
			p := operators.NewPipeline("timer-jump")
			src := operators.Generate(p, n, func(i int64) kv { return kv{K: i, V: i} })
			// one watermark only, at the last record: it passes every
			// earlier record's timer at once
			timed := operators.AssignTimestamps(src, operators.WatermarkStrategy[kv]{
				Strategy:  watermark.ForPunctuated(func(ts int64) (int64, bool) { return ts, ts == n-1 }),
				Timestamp: func(r kv, _ int64) int64 { return r.V },
			})
			fired := tc.fire(operators.KeyBy(timed, func(r kv) int64 { return r.K })).Name("fire")
			sink := &busyKVSink{}
			operators.ToSink(fired.Rebalance(), "busy", func(*operators.TaskContext) (operators.SinkWriter[kv], error) {
				return sink, nil
			})
			job := submit(t, e, p)
			if err := waitJob(t, job); err != nil {
				t.Fatal(err)
			}
			checkOnePerKey(t, sink.got, n)
			checkOutputBound(t, job, int64(2*batch))
		})
	}
}

// busyKVSink is busySink for kv records.
type busyKVSink struct {
	busySink
	got []kv
}

func (s *busyKVSink) Write(v kv, ts int64) error {
	_ = s.busySink.Write(int(v.V), ts)
	s.got = append(s.got, v)
	return nil
}

// checkOnePerKey checks that got holds one record for each key 0..n-1,
// whose value is its key.
func checkOnePerKey(t *testing.T, got []kv, n int) {
	t.Helper()
	seen := make([]bool, n)
	for _, r := range got {
		if r.K < 0 || r.K >= int64(n) || seen[r.K] || r.V != r.K {
			t.Fatalf("record %+v unexpected or duplicated", r)
		}
		seen[r.K] = true
	}
	if len(got) != n {
		t.Fatalf("sink got %d records, want %d", len(got), n)
	}
}

// checkOutputBound fails the test if a subtask of job ever had more than
// limit records waiting for credit at once.
func checkOutputBound(t *testing.T, job *Job, limit int64) {
	t.Helper()
	samples := job.Metrics()
	if len(samples) == 0 {
		t.Fatal("no metrics sampled")
	}
	for _, s := range samples {
		t.Logf("%s/%d: at most %d records waited for credit", s.Vertex, s.Subtask, s.OutputQueuedMax)
		if s.OutputQueuedMax > limit {
			t.Errorf("%s/%d: %d records waited for credit at once, more than %d", s.Vertex, s.Subtask, s.OutputQueuedMax, limit)
		}
	}
}
