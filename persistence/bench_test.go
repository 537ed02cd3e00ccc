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
