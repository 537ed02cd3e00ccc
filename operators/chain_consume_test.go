package operators

import (
	"slices"
	"testing"
)

// Consume stops between two records when the runtime has urgent mail
// (ChainConfig.Urgent, asked every yieldEvery records), holding the rest
// of the batch as it does when the output is full; HeldInput says where
// it stopped, and Resume goes on from there: a slow operator's runtime
// reads its mailbox (a priority barrier) in the middle of a batch. The
// rest of the batch encodes alone (EncodeBatchFrom), as an unaligned
// checkpoint stores it.
func TestChain_Consume_stopsForUrgentMail(t *testing.T) {
	p := NewPipeline("consume-urgent")
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
	asked, urgentAt := 0, 2
	v, edge := g.Vertices[1], g.Vertices[1].Inputs[0]
	c, err := v.Open(ChainConfig{BatchSize: 8, Ship: &recordingShipper{},
		Urgent: func() bool { asked++; return asked == urgentAt }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	batch := &Batch[int]{}
	total := 5 * yieldEvery
	for i := range total {
		batch.Elems = append(batch.Elems, Element[int]{Value: i, Timestamp: NoTimestamp})
	}
	if c.Consume(0, batch) || !c.Pending() {
		t.Fatal("Consume took the whole batch while urgent mail waited")
	}
	ch, held, next, ok := c.HeldInput()
	if !ok || ch != 0 || held != any(batch) || next != 2*yieldEvery || !slices.Equal(got, seq(0, next)) {
		t.Fatalf("first part: held %v on channel %d from %d, consumed %v", ok, ch, next, got)
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
	if !c.Resume() || c.Pending() || !slices.Equal(got, seq(0, total)) {
		t.Fatalf("second part: pending %v, consumed %v", c.Pending(), got)
	}
	if _, _, _, ok := c.HeldInput(); ok {
		t.Fatal("HeldInput reports a batch after Resume took all of it")
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
