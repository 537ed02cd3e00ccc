package operators_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/watermark"
)

type click struct {
	User string
	At   int64 // event time, epoch ms
}

// Clicks per user in tumbling one-second event-time windows; a click that
// comes after its window is gone goes to the late side output.
func ExampleWindow() {
	p := operators.NewPipeline("clicks")
	clicks := operators.FromSlice(p, []click{
		{"ann", 100}, {"bob", 200}, {"ann", 900}, {"ann", 1500}, {"bob", 2100}, {"ann", 300},
	})
	timed := operators.AssignTimestamps(clicks, operators.WatermarkStrategy[click]{
		// a watermark just below every click's time
		Strategy:  watermark.ForPunctuated(func(ts int64) (int64, bool) { return ts - 1, true }),
		Timestamp: func(c click, _ int64) int64 { return c.At },
	})
	late := operators.NewOutputTag[click]("late-clicks")
	tumbling := window.Tumbling(time.Second)
	windowed := operators.Window(operators.KeyBy(timed, func(c click) string { return c.User }), tumbling,
		operators.WithLateOutput(late))
	count := operators.Aggregate(
		func() int { return 0 },
		func(n int, _ click) int { return n + 1 },
		func(a, b int) int { return a + b },
		func(n int) int { return n })
	counts := operators.AggregateWindowWith(windowed, count,
		func(ctx *operators.WindowContext[string], n int, out operators.Collector[string]) error {
			out.Collect(fmt.Sprintf("%s %v: %d", ctx.Key(), ctx.Window(), n), 0)
			return nil
		})
	result := operators.Collect(counts)
	lateClicks := operators.Collect(operators.GetSideOutput(counts, late))

	engine, err := actors.NewEngine(quietConfig())
	if err != nil {
		panic(err)
	}
	defer engine.Close()
	if err := engine.Run(context.Background(), p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	out := result.Values()
	slices.Sort(out)
	for _, line := range out {
		fmt.Println(line)
	}
	fmt.Println("late:", lateClicks.Values())
	// Output:
	// ann [0, 1000): 2
	// ann [1000, 2000): 1
	// bob [0, 1000): 1
	// bob [2000, 3000): 1
	// late: [{ann 300}]
}

func quietConfig() actors.Config {
	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	return cfg
}
