package persistence

import (
	"testing"
	"time"
)

// BenchmarkValueState_Update compares updating a value state with
// updating a plain map, over the same keys in the same run.
func BenchmarkValueState_Update(b *testing.B) {
	const keys = 1024
	b.Run("map", func(b *testing.B) {
		m := make(map[int]int)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k := i % keys
			m[k] = m[k] + 1
		}
	})
	for _, tc := range []struct {
		name string
		ttl  TTLConfig
	}{{"ValueState", TTLConfig{}}, {"ValueState_TTL", TTLConfig{TTL: time.Hour}}} {
		b.Run(tc.name, func(b *testing.B) {
			hb := must(NewHeapBackend(BackendConfig[int]{MaxParallelism: 128,
				KeyGroupOf: func(k int) int { return k % 128 }}))
			s := must(Value(hb, ValueDescriptor[int]{Name: "v", TTL: tc.ttl}))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				hb.SetCurrentKey(i % keys)
				n, _ := s.Value()
				s.Update(n + 1)
			}
		})
	}
}

// BenchmarkSnapshot_1MKeys measures a checkpoint of one subtask holding a
// value state of 1 M int keys (int64 values): the snapshot (the in-line
// copy by key group), its encoding (what the store writes) and the
// restore, each as its own sub-benchmark; bytes/key is the encoded size.
func BenchmarkSnapshot_1MKeys(b *testing.B) {
	const keys = 1 << 20
	hb, _ := filledBackend(b, keys)
	b.Run("snapshot", func(b *testing.B) {
		for b.Loop() {
			if _, err := hb.Snapshot(); err != nil {
				b.Fatal(err)
			}
		}
	})
	snap := must(hb.Snapshot())
	b.Run("encode", func(b *testing.B) {
		var n int
		for b.Loop() {
			n = len(must(snap.MarshalBinary()))
		}
		b.ReportMetric(float64(n)/keys, "bytes/key")
	})
	b.Run("restore", func(b *testing.B) {
		for b.Loop() {
			fresh, _ := filledBackend(b, 0)
			if err := fresh.Restore(snap); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func filledBackend(b *testing.B, keys int) (*HeapBackend[int], *ValueState[int]) {
	hb := must(NewHeapBackend(BackendConfig[int]{MaxParallelism: 128, KeyCodec: intCodec{},
		KeyGroupOf: func(k int) int { return k % 128 }}))
	s := must(Value(hb, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
	for k := range keys {
		hb.SetCurrentKey(k)
		s.Update(k)
	}
	if keys > 0 && hb.Entries() != keys {
		b.Fatalf("filled %d entries, want %d", hb.Entries(), keys)
	}
	return hb, s
}
