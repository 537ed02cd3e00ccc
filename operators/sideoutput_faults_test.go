package operators_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// A side output consumed directly by a sink, in a job whose engine
// injects faults (the testkit runner always does): the fault injector
// taps the sink's input with the side output's record type, not with
// the producing operator's main type.
func TestGetSideOutput_consumedUnderFaultInjection(t *testing.T) {
	p := operators.NewPipeline("side-faults")
	src := operators.FromSlice(p, []int{1, 2, 3, 4})
	odd := operators.NewOutputTag[string]("odd")
	even := operators.Process(src, func(ctx *operators.ProcessContext, v int, out operators.Collector[int]) error {
		if v%2 == 1 {
			ctx.Output(odd.Of(fmt.Sprint("odd ", v)))
			return nil
		}
		out.Collect(v, ctx.Timestamp())
		return nil
	})
	main := operators.Collect(even)
	side := operators.Collect(operators.GetSideOutput(even, odd))
	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	if got := main.Values(); !slices.Equal(got, []int{2, 4}) {
		t.Errorf("main %v", got)
	}
	if got := side.Values(); !slices.Equal(got, []string{"odd 1", "odd 3"}) {
		t.Errorf("side %v", got)
	}
}
