package actors_test

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// hidden is a record type JSON, the default codec, cannot round-trip: its
// one field is unexported, so it encodes as {} and decodes as the zero
// value, without an error.
type hidden struct{ v int }

// An unaligned checkpoint stores the records in flight on a channel —
// the batches its barrier overtakes, and the rest of an input batch a
// chain holds (the memory bound) — in the channel's codec. On a local
// channel records are never encoded, so nothing asked the stream for a
// codec; with JSON and a type it cannot round-trip, the restore would
// replay zero values in their place, silently. Such a job is refused
// before it starts (as keyed state of such a type is at Build), naming
// the stream's type; with a codec it runs.
func TestUnaligned_channelOfALossyTypeIsRefused(t *testing.T) {
	build := func(withCodec bool) *operators.JobGraph {
		p := operators.NewPipeline("unaligned-lossy").SetParallelism(1)
		src := operators.Map(operators.Generate(p, 10, func(seq int64) int64 { return seq }), func(v int64) hidden { return hidden{int(v)} })
		moved := src.Rebalance()
		if withCodec {
			operators.WithCodec(moved, hiddenCodec{})
		}
		operators.Discard(operators.Map(moved, func(h hidden) int { return h.v }).Parallelism(2))
		g, err := p.Build()
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g := build(false)
	// What the in-flight data would hold: the rest of a batch held at
	// record 1, encoded as the channel's state, and decoded at restore.
	edge := g.Vertices[1].Inputs[0]
	held := &operators.Batch[hidden]{Elems: []operators.Element[hidden]{{Value: hidden{1}}, {Value: hidden{2}}, {Value: hidden{3}}}}
	enc, err := edge.EncodeBatchFrom(nil, held, 1)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := edge.DecodeBatch(enc)
	if err != nil {
		t.Fatal(err)
	}
	var replayed []int
	for _, e := range dec.(*operators.Batch[hidden]).Elems {
		replayed = append(replayed, e.Value.v)
	}
	if !slices.Equal(replayed, []int{2, 3}) {
		t.Logf("the channel's in-flight data would replay %v in place of [2 3]", replayed)
	}

	cfg := actors.DefaultConfig()
	unaligned(t, 10*time.Millisecond, 0)(&cfg)
	if err := cfg.CheckJob(g); !errors.Is(err, actors.ErrConfig) || !errors.Is(err, operators.ErrLossyJSON) {
		t.Fatalf("CheckJob of an unaligned job with a channel of %T on JSON: %v, want ErrConfig and ErrLossyJSON", hidden{}, err)
	}
	if err := cfg.CheckJob(build(true)); err != nil {
		t.Fatalf("CheckJob with a codec for the channel: %v", err)
	}
	cfg.Checkpoint.Unaligned = false
	if err := cfg.CheckJob(g); err != nil {
		t.Fatalf("CheckJob of an aligned job (no in-flight data is stored): %v", err)
	}
}

// hiddenCodec encodes a hidden as its field, in decimal.
type hiddenCodec struct{}

func (hiddenCodec) Append(dst []byte, h hidden) ([]byte, error) {
	return strconv.AppendInt(dst, int64(h.v), 10), nil
}

func (hiddenCodec) Decode(b []byte) (hidden, error) {
	v, err := strconv.Atoi(string(b))
	return hidden{v}, err
}
