package actors

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// rescalePipeline counts per key with the counter at parallelism par; the
// source and the sink keep parallelism 2 (their positions and pending
// output are what a rescale of the counter must not disturb).
func rescalePipeline(n, keys int64, par int, into *operators.Collected[counted]) (*operators.Pipeline, *operators.Collected[counted]) {
	p := operators.NewPipeline("rescale").SetParallelism(2)
	src := operators.Generate(p, n, func(i int64) event { return event{Key: i % keys, Seq: i} }, operators.RateLimit(8000))
	ks := operators.KeyBy(src, func(e event) int64 { return e.Key })
	out := operators.ProcessKeyed(ks, countEvent).Name("count").Parallelism(par)
	if into == nil {
		return p, operators.Collect(out)
	}
	return p, operators.CollectTo(out, into)
}

// TestSavepoint_stopAndRescale stops a keyed count at parallelism 4 with a
// savepoint and resumes it at 2 and at 6: across both jobs every
// (key, count) is committed exactly once.
func TestSavepoint_stopAndRescale(t *testing.T) {
	const n, keys = 16000, 53
	for _, par := range []int{2, 6} {
		t.Run(fmt.Sprintf("4to%d", par), func(t *testing.T) {
			e := newTestEngine(t, func(c *Config) {
				c.Checkpoint.Interval = 20 * time.Millisecond
				c.BatchSize = 64
			})
			p1, sink := rescalePipeline(n, keys, 4, nil)
			j1 := submit(t, e, p1)
			eventually(t, 20*time.Second, func() bool { _, ok := j1.LatestCheckpoint(); return ok }, "a complete checkpoint")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			path, err := j1.StopWithSavepoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			before := len(sink.Values())
			if before == 0 || before >= n {
				t.Fatalf("the first job committed %d of %d records: the savepoint should fall mid-stream", before, n)
			}
			p2, _ := rescalePipeline(n, keys, par, sink)
			j2 := submit(t, e, p2, RestoreFrom(path))
			if err := j2.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			checkCounts(t, sink.Values(), n, keys)
		})
	}
}

// partReader emits count records named "<job>/<subtask>/<i>" and ends,
// or, when count is negative, waits for ever (until the job stops).
type partReader struct {
	job, subtask, count, next int
}

func (r *partReader) Poll(out operators.Collector[string], max int) (operators.Poll, error) {
	if r.count < 0 {
		return operators.Poll{Status: operators.PollWait}, nil
	}
	for ; r.next < r.count && max > 0; r.next, max = r.next+1, max-1 {
		out.Collect(fmt.Sprintf("%d/%d/%d", r.job, r.subtask, r.next), operators.NoTimestamp)
	}
	if r.next == r.count {
		return operators.Poll{Status: operators.PollDone}, nil
	}
	return operators.Poll{Status: operators.PollMore}, nil
}

func (r *partReader) Close() error { return nil }

// endSignal passes its records on and closes ended as its input ends: the
// collecting sink after it in the chain ends its input in the same call.
type endSignal struct {
	out   operators.Collector[string]
	ended chan struct{}
}

func (s *endSignal) Collect(v string, ts int64) { s.out.Collect(v, ts) }

func (s *endSignal) EndInput() error {
	close(s.ended)
	return nil
}

// A sink subtask whose input ended before a savepoint keeps its last
// epoch for the end of the job; the job resumed from the savepoint
// commits it, and then its own sink subtask of the same index ends its
// input with a last epoch of its own, which must be committed too. Both
// are the epochs of the end of the job (operators.EndOfJob): the collecting
// sink named them by subtask and checkpoint only, took the second for the
// first, already committed, and dropped it (the lost tail of a subject in
// the JetStream source's TestFromJetStream_savepointRescale).
func TestSavepoint_sinkSubtaskEndedBeforeItAndAfterTheResume(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Checkpoint.Interval = time.Hour }) // only the savepoint
	const count = 5
	ended := make(chan struct{})
	build := func(job int, counts [2]int, into *operators.Collected[string]) (*operators.Pipeline, *operators.Collected[string]) {
		p := operators.NewPipeline("ended-before").SetParallelism(2)
		src := operators.FromReader(p, "parts", func(tc *operators.TaskContext) (operators.Reader[string], error) {
			return &partReader{job: job, subtask: tc.Subtask, count: counts[tc.Subtask]}, nil
		})
		out := operators.External(src, "pass", func(tc *operators.TaskContext, out operators.Collector[string]) (operators.Collector[string], any, error) {
			s := &endSignal{out: out, ended: make(chan struct{})}
			if job == 1 && tc.Subtask == 1 {
				s.ended = ended
			}
			return s, s, nil
		})
		if into == nil {
			return p, operators.Collect(out)
		}
		return p, operators.CollectTo(out, into)
	}
	p1, sink := build(1, [2]int{-1, count}, nil) // subtask 0 reads on, subtask 1 ends
	j1 := submit(t, e, p1)
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the first job's subtask 1 did not end its input")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path, err := j1.StopWithSavepoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := sink.Values(); len(got) != 0 {
		t.Fatalf("the first job committed %q before the end of a job", got)
	}
	p2, _ := build(2, [2]int{count, count}, sink)
	if err := submit(t, e, p2, RestoreFrom(path)).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, part := range [][2]int{{1, 1}, {2, 0}, {2, 1}} {
		for i := range count {
			want = append(want, fmt.Sprintf("%d/%d/%d", part[0], part[1], i))
		}
	}
	got := sink.Values()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("committed %q,\nwant %q once each", got, want)
	}
}
