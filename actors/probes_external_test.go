package actors_test

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// Backpressure through a keyed exchange: with no demand at the sink the
// source keeps its records; granting credit lets exactly the records flow,
// and the watermark follows them.
func TestEngine_backpressureThroughKeyedExchange(t *testing.T) {
	p := operators.NewPipeline("keyed-backpressure")
	src, s := testkit.NewSourceProbe[int](t, p)
	ks := operators.KeyBy(s, func(v int) int { return v % 3 })
	sum := operators.Reduce(ks, func(a, b int) int { return a + b }).Parallelism(2)
	sink := testkit.NewSinkProbe(t, sum)
	r := testkit.NewRunner(t, testkit.WithBatchSize(1), testkit.WithCredits(1))
	job := r.Start(p)
	for i := range 60 {
		src.SendNext(i, int64(i))
	}
	src.SendWatermark(59)
	sink.ExpectNoElement(30 * time.Millisecond)
	if pending := src.Pending(); pending < 45 {
		t.Fatalf("the source emitted %d records with no demand downstream", 61-pending)
	}
	sink.Request(60)
	largest := 0
	for _, v := range sink.ExpectNextN(60) {
		largest = max(largest, v)
	}
	if largest != 610 { // key 2's final sum: 2 + 5 + … + 59
		t.Fatalf("largest running sum %d, want 610", largest)
	}
	sink.Request(1)
	sink.ExpectWatermark(59)
	src.SendComplete()
	sink.ExpectComplete()
	if res := r.Wait(job); res.Err != nil {
		t.Fatal(res)
	}
}
