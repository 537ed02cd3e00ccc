package operators

import (
	"slices"
	"strconv"
	"testing"
)

// Consume stops between two records when the runtime has urgent mail
// (ChainConfig.Urgent), holding the rest of the batch as it does when the
// output is full; HeldInput says where it stopped, and Resume goes on from
// there: a slow operator's runtime reads its mailbox (a priority barrier)
// in the middle of a batch. The rest of the batch encodes alone
// (EncodeBatchFrom), as an unaligned checkpoint stores it. The chain asks
// every yieldEvery records on the per-record path (records that hold
// pointers, here strings) and after every run on the batch path (ints,
// runs of maxRun records: see batch_path.go).
func TestChain_Consume_stopsForUrgentMail(t *testing.T) {
	t.Run("per-record", func(t *testing.T) {
		consumeStopsForUrgentMail(t, strconv.Itoa, yieldEvery)
	})
	t.Run("runs", func(t *testing.T) {
		consumeStopsForUrgentMail(t, func(i int) int { return i }, maxRun)
	})
}

func consumeStopsForUrgentMail[T comparable](t *testing.T, rec func(int) T, every int) {
	p := NewPipeline("consume-urgent")
	src := FromSlice(p, []T{rec(0)}).Parallelism(1)
	var got []T
	ToSink(Map(src.Rebalance(), func(v T) T { return v }).Parallelism(1), "sink",
		func(*TaskContext) (SinkWriter[T], error) {
			return sinkFunc[T](func(v T) { got = append(got, v) }), nil
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
	batch := &Batch[T]{}
	total := 5 * every
	var want []T
	for i := range total {
		batch.Elems = append(batch.Elems, Element[T]{Value: rec(i), Timestamp: NoTimestamp})
		want = append(want, rec(i))
	}
	if c.Consume(0, batch) || !c.Pending() {
		t.Fatal("Consume took the whole batch while urgent mail waited")
	}
	ch, held, next, ok := c.HeldInput()
	if !ok || ch != 0 || held != any(batch) || next != 2*every || !slices.Equal(got, want[:next]) {
		t.Fatalf("first part: held %v on channel %d from %d (want %d), consumed %v", ok, ch, next, 2*every, got)
	}
	rest, err := edge.EncodeBatchFrom(nil, batch, next)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := edge.DecodeBatch(rest)
	if err != nil {
		t.Fatal(err)
	}
	if want := batch.Elems[next:]; !slices.Equal(decoded.(*Batch[T]).Elems, want) {
		t.Fatalf("rest encoded as %v, want %v", decoded.(*Batch[T]).Elems, want)
	}
	if !c.Resume() || c.Pending() || !slices.Equal(got, want) {
		t.Fatalf("second part: pending %v, consumed %v", c.Pending(), got)
	}
	if _, _, _, ok := c.HeldInput(); ok {
		t.Fatal("HeldInput reports a batch after Resume took all of it")
	}
}

// sinkFunc is a SinkWriter of a function.
type sinkFunc[T any] func(v T)

func (w sinkFunc[T]) Write(v T, _ int64) error { w(v); return nil }

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
