package testkit

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/watermark"
)

// visit is a record that carries its own event time.
type visit struct {
	User string
	At   int64 // epoch ms
}

func visitTime(v visit, _ int64) int64 { return v.At }

func countVisits(ks operators.KeyedStream[visit, string]) operators.Stream[string] {
	tumbling := window.Tumbling(10 * time.Millisecond)
	return operators.ProcessWindow(operators.Window(ks, tumbling),
		func(ctx *operators.WindowContext[string], vs []visit, out operators.Collector[string]) error {
			out.Collect(ctx.Key()+":"+string(rune('0'+len(vs))), 0)
			return nil
		})
}

// An operator keyed after a timestamp assigner is fed its records alone
// (issue 18, item 7): the strategy stamps them and makes the watermarks,
// as the assigner upstream does in a job.
func TestEventTimeHarness_punctuated(t *testing.T) {
	h := NewEventTimeHarness(t, operators.WatermarkStrategy[visit]{
		Strategy:  watermark.ForPunctuated(func(ts int64) (int64, bool) { return ts - 1, true }),
		Timestamp: visitTime,
	}, func(v visit) string { return v.User }, countVisits)
	h.ProcessElements(visit{"ann", 1}, visit{"ann", 5}, visit{"bob", 7})
	wantItems(t, h.Output(), "watermark(0) watermark(4) watermark(6)")
	h.ProcessElement(visit{"ann", 12})
	wantItems(t, h.Output(), "watermark(0) watermark(4) watermark(6) ann:2@9 bob:1@9 watermark(11)")
}

// Periodic watermarks come as processing time passes the strategy's
// interval.
func TestEventTimeHarness_periodic(t *testing.T) {
	periodic := watermark.ForBoundedOutOfOrderness(2 * time.Millisecond)
	periodic.Interval = 100 * time.Millisecond
	h := NewEventTimeHarness(t, operators.WatermarkStrategy[visit]{Strategy: periodic, Timestamp: visitTime},
		func(v visit) string { return v.User }, countVisits)
	h.ProcessElements(visit{"ann", 1}, visit{"ann", 15})
	wantItems(t, h.Output(), "")
	h.AdvanceProcessingTime(100 * time.Millisecond)
	wantItems(t, h.Output(), "ann:1@9 watermark(12)")
	h.EndInput()
	wantItems(t, h.Output(), "ann:1@9 watermark(12) ann:1@19 watermark(max)")
}

func wantItems[T any](t *testing.T, items []Item[T], want string) {
	t.Helper()
	if got := showItems(items); got != want {
		t.Fatalf("output:\n got %s\nwant %s", got, want)
	}
}
