package operators

import (
	"fmt"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators/window"
)

type nopShipper struct{}

func (nopShipper) Ship(int, any)        {}
func (nopShipper) ShipEvent(int, Event) {}

type benchRec struct {
	K string
	V int64
}

// benchChain drives one subtask of op directly (no harness, no runtime):
// batches of 1000 records over 1000 keys, one ms of event time per
// record, a watermark after every batch.
func benchChain(b *testing.B, op func(KeyedStream[benchRec, string]) Stream[benchRec]) {
	p := NewPipeline("bench")
	src := FromSlice[benchRec](p, nil).Parallelism(1)
	Discard(op(KeyBy(src, func(r benchRec) string { return r.K })).Rebalance())
	g, err := p.Build()
	if err != nil {
		b.Fatal(err)
	}
	c, err := g.Vertices[1].Open(ChainConfig{BatchSize: 1000, Ship: nopShipper{}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		batch := &Batch[benchRec]{Elems: make([]Element[benchRec], 0, 1000)}
		for j := range min(1000, b.N-i) {
			batch.Elems = append(batch.Elems, Element[benchRec]{Value: benchRec{keys[j], 1}, Timestamp: int64(i + j)})
		}
		c.Consume(0, batch)
		c.ProcessWatermark(0, int64(i+999))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func sumRec(a, b benchRec) benchRec { return benchRec{a.K, a.V + b.V} }

// BenchmarkChain_keyedReduce is the baseline: a running sum per key.
func BenchmarkChain_keyedReduce(b *testing.B) {
	benchChain(b, func(ks KeyedStream[benchRec, string]) Stream[benchRec] { return Reduce(ks, sumRec) })
}

// BenchmarkChain_tumblingWindowSum sums per key in tumbling 10 s
// event-time windows (each window of a key gets 10 records and fires).
func BenchmarkChain_tumblingWindowSum(b *testing.B) {
	tumbling := window.Tumbling(10 * time.Second)
	benchChain(b, func(ks KeyedStream[benchRec, string]) Stream[benchRec] {
		return ReduceWindow(Window(ks, tumbling), sumRec)
	})
}
