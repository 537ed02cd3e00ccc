package actors_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

// passThrough is a user actor that emits its input unchanged, answering
// Watermark too when it gets them.
type passThrough struct{}

func (passThrough) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Input[int64]:
		out := make([]operators.Element[int64], len(m.Records))
		for i, r := range m.Records {
			out[i] = operators.Element[int64]{Value: r.Value, Timestamp: r.Timestamp}
		}
		ctx.Respond(&actors.Output[int64]{Records: out})
	case *actors.Watermark, *actors.EndOfInput:
		ctx.Respond(&actors.Output[int64]{})
	}
}

// Watermarks pass an actor operator after the output of the records
// before them, with and without WithWatermarks, however the operator
// batches and pipelines its input: a window after it, fed a watermark
// right behind every record, sees no record late, and every window holds
// all of its records.
func TestActorOperator_watermarksFollowTheirRecords(t *testing.T) {
	for name, opts := range map[string][]actors.ActorOption{"plain": nil, "with-watermarks": {actors.WithWatermarks()}} {
		t.Run(name, func(t *testing.T) {
			const n, size = 20_000, 100
			r := testkit.NewRunner(t)
			p := operators.NewPipeline("wm-order-" + name)
			src := operators.Generate(p, n, func(i int64) int64 { return i }).Name("gen")
			timed := operators.AssignTimestamps(src, operators.WatermarkStrategy[int64]{
				Strategy:  watermark.ForPunctuated(func(ts int64) (int64, bool) { return ts, true }),
				Timestamp: func(v, _ int64) int64 { return v },
			})
			passed := actors.FromActor[int64, int64](timed, actor.PropsFromProducer(func() actor.Actor { return passThrough{} }), opts...).Name("pass")
			tag := operators.NewOutputTag[int64]("late")
			ws := operators.Window(operators.KeyBy(passed, func(int64) int { return 0 }), window.Tumbling(size*time.Millisecond),
				operators.WithLateOutput(tag))
			counts := operators.AggregateWindow(ws, operators.Aggregate(
				func() int64 { return 0 }, func(c, _ int64) int64 { return c + 1 },
				func(a, b int64) int64 { return a + b }, func(c int64) int64 { return c })).Name("count")
			windows := operators.Collect(counts)
			late := operators.Collect(operators.GetSideOutput(counts, tag))
			if res := r.Run(p); res.State != actors.JobFinished {
				t.Fatalf("%v", res)
			}
			if got := late.Values(); len(got) != 0 {
				t.Fatalf("%d records late at the window, first %d: a watermark overtook them", len(got), got[0])
			}
			if got := windows.Values(); len(got) != n/size || got[0] != size || got[len(got)-1] != size {
				t.Fatalf("%d windows %v…, want %d of %d records each", len(got), got[:min(len(got), 5)], n/size, size)
			}
		})
	}
}

// flusher is a keyed user actor that counts each key's records and
// emits the count when a processing-time timer 2 ms after a record
// fires, clearing it; an event-time timer at the end of time emits what
// is left when the input ends (processing-time timers do not fire then).
type flusher struct {
	scope *operators.KeyedScope[int64]
	count operators.ValueState[int64]
}

func (f *flusher) Receive(ctx actor.Context) {
	var out []operators.Element[int64]
	switch m := ctx.Message().(type) {
	case *actors.Open[int64]:
		f.scope = m.State
		f.count, _ = operators.GetValueState(m.State, operators.ValueDescriptor[int64]{Name: "count"})
	case *actors.KeyedInput[keyed, int64]:
		for range m.All() {
			n, _ := f.count.Value()
			f.count.Update(n + 1)
			f.scope.RegisterProcessingTimer(f.scope.ProcessingTime().Add(2 * time.Millisecond))
			f.scope.RegisterEventTimer(operators.MaxWatermark)
		}
	case *actors.Timers[int64]:
		for range m.All() {
			if n, ok := f.count.Value(); ok {
				out = append(out, operators.Element[int64]{Value: n, Timestamp: operators.NoTimestamp})
				f.count.Clear()
			}
		}
	case *actors.EndOfInput:
	default:
		return
	}
	ctx.Respond(&actors.Output[int64]{Records: out})
}

// Processing-time timers of a keyed actor fire while its inputs are in
// flight and between them, and with a failure in the middle every record
// is counted in exactly one emitted count: the counts add up to the input.
func TestKeyedActor_processingTimersExactlyOnce(t *testing.T) {
	const n = 4000
	r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond))
	r.Faults().FailAt("flusher", testkit.AtRecord(900), testkit.InSubtask(0))
	p := operators.NewPipeline("proc-timers").SetParallelism(2)
	src := operators.Generate(p, n, func(i int64) keyed { return keyed{Key: i % 7, Seq: i} }, operators.RateLimit(4000)).Name("gen").Parallelism(1)
	counts := actors.FromKeyedActor[keyed, int64, int64](operators.KeyBy(src, func(k keyed) int64 { return k.Key }),
		actor.PropsFromProducer(func() actor.Actor { return &flusher{} })).Name("flusher")
	out := operators.Collect(counts)
	if res := r.Run(p); res.State != actors.JobFinished || res.Restarts != 1 {
		t.Fatalf("got %v, want finished after a restart", res)
	}
	var sum int64
	for _, c := range out.Values() {
		sum += c
	}
	if sum != n || len(out.Values()) < 50 {
		t.Fatalf("%d counts adding up to %d; want many (the timers fired as the input ran) adding up to %d", len(out.Values()), sum, n)
	}
}

// gate is a user actor that passes records through, holding its answer to
// each Input until the test lets it go: records in flight in the actor.
type gate struct {
	got     chan<- struct{}
	release <-chan struct{}
}

func (g gate) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actors.Input[int64]); ok {
		g.got <- struct{}{}
		<-g.release
	}
	passThrough{}.Receive(ctx)
}

// watermarkSeen is a sink that tells, on a channel, the watermarks it
// sees.
func watermarkSeen(s operators.Stream[int64]) <-chan int64 {
	seen := make(chan int64, 64)
	operators.ToSink(s, "watermarks", func(*operators.TaskContext) (operators.SinkWriter[int64], error) {
		return wmWriter(seen), nil
	})
	return seen
}

type wmWriter chan<- int64

func (w wmWriter) Write(int64, int64) error { return nil }
func (w wmWriter) ProcessWatermark(wm int64) (int64, bool) {
	select {
	case w <- wm:
	default:
	}
	return wm, true
}

// An input going idle is announced downstream after the output of the
// records before it, as watermarks are: an actor's output sent after the
// idle announcement would reach a window whose watermark, no longer held
// back by the idle channel, has passed it — late, lost from its window.
// Here the actor holds a record (t=100) when its input goes idle, and
// another input's watermark goes to 5000: the window [0, 1000) must not
// fire before the record is in, and must count it.
func TestActorOperator_idleFollowsTheRecordsBeforeIt(t *testing.T) {
	for name, opts := range map[string][]actors.ActorOption{"plain": nil, "with-watermarks": {actors.WithWatermarks()}} {
		t.Run(name, func(t *testing.T) {
			r := testkit.NewRunner(t)
			got, release := make(chan struct{}, 1), make(chan struct{})
			t.Cleanup(func() { close(release) }) // before the runner's cleanup: the actor lets go
			p := operators.NewPipeline("idle-order-" + name).SetParallelism(1)
			held, a := testkit.NewSourceProbe[int64](t, p)
			other, b := testkit.NewSourceProbe[int64](t, p)
			passed := actors.FromActor[int64, int64](a, actor.PropsFromProducer(func() actor.Actor { return gate{got: got, release: release} }), opts...).Name("gate")
			tag := operators.NewOutputTag[int64]("late")
			ws := operators.Window(operators.KeyBy(operators.Union(passed, b), func(int64) int { return 0 }), window.Tumbling(time.Second),
				operators.WithLateOutput(tag))
			counts := operators.AggregateWindow(ws, operators.Aggregate(
				func() int64 { return 0 }, func(c, _ int64) int64 { return c + 1 },
				func(a, b int64) int64 { return a + b }, func(c int64) int64 { return c })).Name("count")
			windows := operators.Collect(counts)
			late := operators.Collect(operators.GetSideOutput(counts, tag))
			wms := watermarkSeen(counts)
			job := r.Start(p)

			held.SendNext(1, 100)
			select {
			case <-got: // the record is in the actor
			case <-time.After(testkit.DefaultTimeout()):
				t.Fatal("the actor did not get the record")
			}
			held.SendIdle(true)
			other.SendWatermark(5000)
			// The window's watermark must not pass the record's window while
			// the actor holds it; give it the time it would take to.
			select {
			case wm := <-wms:
				t.Errorf("the window's watermark went to %d while the actor held a record of t=100", wm)
			case <-time.After(testkit.Dilated(300 * time.Millisecond)):
			}
			release <- struct{}{}
			held.SendComplete()
			other.SendComplete()
			if res := r.Wait(job); res.State != actors.JobFinished {
				t.Fatalf("%v", res)
			}
			if got := late.Values(); len(got) != 0 {
				t.Fatalf("records %v late at the window: the idle announcement overtook them", got)
			}
			if got := windows.Values(); len(got) != 1 || got[0] != 1 {
				t.Fatalf("windows %v, want one of 1 record", got)
			}
		})
	}
}
