package persistence

import (
	"reflect"
	"testing"
)

func FuzzUnmarshalKeyedSnapshot(f *testing.F) {
	src := newBackend(f, Range{}, nil)
	registerAll(f, src).fill(src, keysIn(5, Range{0, testMaxPar}))
	ttl := newBackend(f, Range{}, nil)
	must(List(ttl, ListDescriptor[string]{Name: "l", Codec: stringCodec{}, TTL: TTLConfig{TTL: 1e9}})).Add("x")
	for _, b := range []*HeapBackend[string]{src, ttl} {
		blob := must(must(b.Snapshot()).MarshalBinary())
		_, payload, _ := Unseal(blob)
		f.Add(blob)
		f.Add(payload)
	}
	f.Add(Seal(KindKeyed, []byte{8, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkKeyedBlob(t, b)
		// Most mutations break the checksum; sealing b as a payload lets
		// the fuzzer reach the decoding of groups, records and Restore.
		checkKeyedBlob(t, Seal(KindKeyed, b))
	})
}

// checkKeyedBlob checks that a blob either fails to unmarshal, or
// round-trips and can be restored without panicking.
func checkKeyedBlob(t *testing.T, b []byte) {
	s, err := UnmarshalKeyedSnapshot(b)
	if err != nil {
		return
	}
	again, err := UnmarshalKeyedSnapshot(must(s.MarshalBinary()))
	if err != nil || !reflect.DeepEqual(again, s) {
		t.Fatalf("re-marshalled snapshot does not round-trip: %v", err)
	}
	if s.MaxParallelism != testMaxPar {
		return
	}
	dst := newBackend(t, Range{}, nil)
	if dst.Restore(s) == nil {
		registerAllLoose(dst)
		_, _ = dst.Snapshot()
	}
}

// registerAllLoose registers the states of registerAll, ignoring errors.
func registerAllLoose(b *HeapBackend[string]) {
	_, _ = Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}})
	_, _ = List(b, ListDescriptor[string]{Name: "l", Codec: stringCodec{}})
	_, _ = Map(b, MapDescriptor[string, int]{Name: "m", KeyCodec: stringCodec{}, ValueCodec: intCodec{}})
	_, _ = Reducing(b, ReducingDescriptor[int]{Name: "r", Codec: intCodec{}, Reduce: func(a, b int) int { return a + b }})
	_, _ = Aggregating(b, sumDescriptor("a"))
}
