package testkit_test

import (
	"fmt"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

func testProbes(t testing.TB) {
	p := operators.NewPipeline("probes")
	src, s := testkit.NewSourceProbe[int](t, p)
	sink := testkit.NewSinkProbe(t, operators.Map(s, func(v int) int { return v * v }).Parallelism(1))
	r := testkit.NewRunner(t, testkit.WithBatchSize(1), testkit.WithCredits(1))
	job := r.Start(p)

	for i := 1; i <= 5; i++ {
		src.SendNext(i, int64(i))
	}
	src.SendWatermark(5)
	sink.Request(2) // the sink takes two records, then holds back credit
	sink.ExpectNext(1, 4)
	sink.Request(3)
	sink.ExpectNext(9, 16, 25)
	sink.Request(1)
	sink.ExpectWatermark(5)
	src.SendComplete()
	sink.ExpectComplete()
	fmt.Println("job:", r.Wait(job).State)
}

// Source and sink probes drive a running pipeline element by element: the
// sink grants credit, so the test decides when records flow.
func ExampleNewSourceProbe() {
	runAsTest(testProbes)
	// Output:
	// job: finished
	// passed
}
