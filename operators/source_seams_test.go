package operators_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
)

// timedReader emits records at 1, 2, 3 ms event time and then waits for
// nothing but processing time: its OnProcessingTime emits watermark 100
// and lets one more record (5 ms, late by then) and the end follow. It
// never asks for a wake, so without processing-time callbacks the job
// never ends.
type timedReader struct {
	tc    *operators.TaskContext
	start time.Time
	step  int // 0: emit the first records; 1: waiting; 2: watermark sent; 3: done
}

func (r *timedReader) Poll(out operators.Collector[int64], max int) (operators.Poll, error) {
	switch r.step {
	case 0:
		for ts := int64(1); ts <= 3; ts++ {
			out.Collect(ts, ts)
		}
		r.step = 1
	case 2:
		out.Collect(5, 5)
		r.step = 3
		return operators.Poll{Status: operators.PollDone}, nil
	}
	return operators.Poll{Status: operators.PollWait}, nil
}

func (r *timedReader) NextProcessingTime() (time.Time, bool) {
	return r.start.Add(5 * time.Millisecond), r.step == 1
}

func (r *timedReader) OnProcessingTime(time.Time) {
	r.tc.EmitWatermark(100)
	r.step = 2
	r.tc.Wake()
}

func (r *timedReader) Close() error { return nil }

// A reader that implements ProcessingTimer is called back on time, and the
// watermark it emits there reaches the operators downstream: the window
// [0, 10) fires on it, so the record that follows is late.
func TestFromReader_processingTimerReader(t *testing.T) {
	p := operators.NewPipeline("timed")
	src := operators.FromReader(p, "timed", func(tc *operators.TaskContext) (operators.Reader[int64], error) {
		return &timedReader{tc: tc, start: tc.Now()}, nil
	})
	late := operators.NewOutputTag[int64]("late")
	tumbling := window.Tumbling(10 * time.Millisecond)
	windowed := operators.Window(operators.KeyBy(src, func(int64) int { return 0 }), tumbling, operators.WithLateOutput(late))
	sums := operators.ReduceWindow(windowed, func(a, b int64) int64 { return a + b })
	counts := operators.Collect(sums)
	lateOnes := operators.Collect(operators.GetSideOutput(sums, late))

	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	if got := counts.Values(); !slices.Equal(got, []int64{6}) {
		t.Errorf("window sums %v, want [6]: 1+2+3 before the watermark", got)
	}
	if got := lateOnes.Values(); !slices.Equal(got, []int64{5}) {
		t.Errorf("late records %v, want [5]", got)
	}
}

var deadTag = operators.NewOutputTag[string]("dead")

// oddReader emits 0..n-1, the odd values as text on the side output.
type oddReader struct {
	tc   *operators.TaskContext
	next int
	n    int
}

func (r *oddReader) Poll(out operators.Collector[int], max int) (operators.Poll, error) {
	side := operators.SideOutput(r.tc, deadTag)
	for ; r.next < r.n && max > 0; r.next, max = r.next+1, max-1 {
		if r.next%2 == 1 {
			side.Collect(fmt.Sprint("odd ", r.next), operators.NoTimestamp)
			continue
		}
		out.Collect(r.next, operators.NoTimestamp)
	}
	if r.next == r.n {
		return operators.Poll{Status: operators.PollDone}, nil
	}
	return operators.Poll{Status: operators.PollMore}, nil
}

func (r *oddReader) Close() error { return nil }

func oddSource(p *operators.Pipeline, opts ...operators.SourceOption) operators.Stream[int] {
	return operators.FromReader(p, "odd", func(tc *operators.TaskContext) (operators.Reader[int], error) {
		return &oddReader{tc: tc, n: 6}, nil
	}, opts...)
}

// A source declared WithSideOutput emits records of the tag, which
// GetSideOutput on its stream returns.
func TestWithSideOutput_source(t *testing.T) {
	p := operators.NewPipeline("side-source")
	src := oddSource(p, operators.WithSideOutput(deadTag))
	main := operators.Collect(src)
	dead := operators.Collect(operators.GetSideOutput(src, deadTag))
	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	if got := main.Values(); !slices.Equal(got, []int{0, 2, 4}) {
		t.Errorf("main %v", got)
	}
	if got := dead.Values(); !slices.Equal(got, []string{"odd 1", "odd 3", "odd 5"}) {
		t.Errorf("side %v", got)
	}
}

// Without the declaration, asking for the side output is a build error.
func TestWithSideOutput_undeclared(t *testing.T) {
	p := operators.NewPipeline("side-source")
	src := oddSource(p)
	operators.Discard(src)
	operators.Discard(operators.GetSideOutput(src, deadTag))
	if _, err := p.Build(); !errors.Is(err, operators.ErrNoSideOutput) {
		t.Fatalf("Build: %v, want ErrNoSideOutput", err)
	}
}
