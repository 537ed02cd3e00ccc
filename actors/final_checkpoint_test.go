package actors

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// summary emits, at the end of its input, how many records it saw: an
// operator whose end emits, which a resumed job must not end again.
func summary(s operators.Stream[event]) operators.Stream[string] {
	return operators.External(s, "summary", func(_ *operators.TaskContext, out operators.Collector[string]) (operators.Collector[event], any, error) {
		sm := &summarizer{out: out}
		return sm, sm, nil
	})
}

type summarizer struct {
	out operators.Collector[string]
	n   int
}

// summaryEnds counts the summarizers' ends, across jobs.
var summaryEnds atomic.Int64

func (s *summarizer) Collect(event, int64) { s.n++ }

func (s *summarizer) EndInput() error {
	summaryEnds.Add(1)
	s.out.Collect(fmt.Sprintf("saw %d", s.n), operators.NoTimestamp)
	return nil
}

func (s *summarizer) SnapshotState(int64) (*operators.OperatorState, error) { return nil, nil }

// A finished job's last checkpoint holds everything, its sources at their
// end and its operators ended: a job resumed from it (as after a crash
// between the final commit and the process's exit) emits nothing again.
func TestCheckpoint_finalCheckpoint_resumeEmitsNothingAgain(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Checkpoint.Interval = time.Hour }) // only the final checkpoint
	build := func(into *operators.Collected[string]) (*operators.Pipeline, *operators.Collected[string]) {
		p := operators.NewPipeline("final").SetParallelism(2)
		src := operators.Generate(p, 1000, func(i int64) event { return event{Key: i % 3, Seq: i} })
		out := summary(src).Parallelism(1)
		if into == nil {
			return p, operators.Collect(out)
		}
		return p, operators.CollectTo(out, into)
	}
	summaryEnds.Store(0)
	p1, sink := build(nil)
	j1 := submit(t, e, p1)
	if err := waitJob(t, j1); err != nil {
		t.Fatal(err)
	}
	cp, ok := j1.LatestCheckpoint()
	if !ok {
		t.Fatal("no final checkpoint was taken")
	}
	if got := sink.Values(); len(got) != 1 || got[0] != "saw 1000" {
		t.Fatalf("first run committed %q", got)
	}
	p2, _ := build(sink)
	j2 := submit(t, e, p2, RestoreFrom(cp.Path))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := j2.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sink.Values(); len(got) != 1 {
		t.Fatalf("after resuming from the final checkpoint: %q, want the one summary", got)
	}
	if n := summaryEnds.Load(); n != 1 {
		t.Fatalf("the summary operator was ended %d times, want once: the resumed job must not end it again", n)
	}
}

// With a minimum pause longer than the interval, a periodic checkpoint
// is due at every tick once the pause is over: the final checkpoint of a
// finished job must still be taken (it goes first), or the job never
// ends.
func TestCheckpoint_minPause_finalCheckpointNotStarved(t *testing.T) {
	const n = 1000
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 5 * time.Millisecond
		c.Checkpoint.MinPause = 100 * time.Millisecond
	})
	p := operators.NewPipeline("min-pause").SetParallelism(2)
	src := operators.Generate(p, n, func(i int64) int64 { return i }, operators.RateLimit(5000))
	out := operators.Collect(src)
	j := submit(t, e, p)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := j.Wait(ctx); err != nil {
		t.Fatalf("job ended with %v (state %v); want it finished: the final checkpoint was never taken", err, j.State())
	}
	if got := len(out.Values()); got != n {
		t.Fatalf("sink committed %d records, want %d", got, n)
	}
}
