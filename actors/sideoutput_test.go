package actors

import (
	"fmt"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

var rejected = operators.NewOutputTag[string]("rejected")

// A process function at parallelism 3 splits records between its main
// output and a side output; each goes to its own sink at another
// parallelism, and every record arrives exactly once on one of them.
func TestEngine_Run_sideOutput(t *testing.T) {
	const n = 5000
	e := newTestEngine(t, nil)
	p := operators.NewPipeline("side-output")
	src := operators.Generate(p, n, func(i int64) kv { return kv{K: i % 5, V: i} }).Parallelism(2)
	split := operators.Process(src.Rebalance(), func(ctx *operators.ProcessContext, r kv, out operators.Collector[kv]) error {
		ts := ctx.Timestamp()
		if r.V%3 == 0 {
			ctx.Output(rejected.Of(fmt.Sprint(r.V)))
			return nil
		}
		out.Collect(r, ts)
		return nil
	}).Parallelism(3)
	doubled := operators.Map(split, func(r kv) int64 { return 2 * r.V }) // chained after the split
	main := operators.Collect(doubled.Rebalance()).Parallelism(2)
	side := operators.Collect(operators.GetSideOutput(split, rejected).Rebalance()).Parallelism(4)
	if err := runPipeline(t, e, p); err != nil {
		t.Fatal(err)
	}
	seen := make([]int, n)
	for _, v := range main.Values() {
		seen[v/2]++
	}
	for _, s := range side.Values() {
		var v int
		if _, err := fmt.Sscan(s, &v); err != nil {
			t.Fatal(err)
		}
		if v%3 != 0 {
			t.Fatalf("side output has %d", v)
		}
		seen[v]++
	}
	for v, c := range seen {
		if c != 1 {
			t.Fatalf("record %d arrived %d times", v, c)
		}
	}
}
