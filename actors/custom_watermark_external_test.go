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
