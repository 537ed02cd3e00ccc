package operators

import (
	"slices"
	"testing"
)

// ConsumeFrom stops between two records when yield says so, and goes on
// from there: a slow operator's runtime reads its mailbox (a priority
// barrier) in the middle of a batch. The rest of the batch encodes alone
// (EncodeBatchFrom), as an unaligned checkpoint stores it.
func TestChain_ConsumeFrom_yieldsBetweenRecords(t *testing.T) {
	p := NewPipeline("consume-from")
	src := FromSlice(p, []int{0}).Parallelism(1)
	var got []int
	ToSink(Map(src.Rebalance(), func(v int) int { return v }).Parallelism(1), "sink",
		func(*TaskContext) (SinkWriter[int], error) {
			return writerFunc(func(v int) { got = append(got, v) }), nil
		})
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	v, edge := g.Vertices[1], g.Vertices[1].Inputs[0]
	c, err := v.Open(ChainConfig{BatchSize: 8, Ship: &recordingShipper{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	batch := &Batch[int]{}
	total := 5 * yieldEvery
	for i := range total {
		batch.Elems = append(batch.Elems, Element[int]{Value: i, Timestamp: NoTimestamp})
	}
	asked := 0
	next, done := c.ConsumeFrom(0, batch, 0, func() bool { asked++; return asked == 2 })
	if done || next != 2*yieldEvery || !slices.Equal(got, seq(0, next)) {
		t.Fatalf("first part: next %d, done %v, consumed %v", next, done, got)
	}
	rest, err := edge.EncodeBatchFrom(nil, batch, next)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := edge.DecodeBatch(rest)
	if err != nil {
		t.Fatal(err)
	}
	if want := batch.Elems[next:]; !slices.Equal(decoded.(*Batch[int]).Elems, want) {
		t.Fatalf("rest encoded as %v, want %v", decoded.(*Batch[int]).Elems, want)
	}
	if next, done = c.ConsumeFrom(0, batch, next, func() bool { return false }); !done || next != total || !slices.Equal(got, seq(0, total)) {
		t.Fatalf("second part: next %d, done %v, consumed %v", next, done, got)
	}
}

// writerFunc is a SinkWriter of a function.
type writerFunc func(v int)

func (w writerFunc) Write(v int, _ int64) error { w(v); return nil }

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}
