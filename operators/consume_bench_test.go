package operators

import (
	"sync/atomic"
	"testing"
)

func BenchmarkConsumeFrom(b *testing.B) {
	p := NewPipeline("consume-bench")
	src := FromSlice(p, []int{0}).Parallelism(1)
	var sum int
	ToSink(Map(src.Rebalance(), func(v int) int { return v + 1 }).Parallelism(1), "sink",
		func(*TaskContext) (SinkWriter[int], error) { return writerFunc(func(v int) { sum += v }), nil })
	g, _ := p.Build()
	c, err := g.Vertices[1].Open(ChainConfig{BatchSize: 1024, Ship: &recordingShipper{}})
	if err != nil {
		b.Fatal(err)
	}
	var pending atomic.Int64
	for _, tc := range []struct {
		name  string
		yield func() bool
	}{{"nil", nil}, {"atomic", func() bool { return pending.Load() > 0 }}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				batch := &Batch[int]{Elems: make([]Element[int], 1024)}
				c.ConsumeFrom(0, batch, 0, tc.yield)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1024), "ns/rec")
		})
	}
}
