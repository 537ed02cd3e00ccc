package window

import (
	"testing"
	"time"
)

func benchmarkAssign(b *testing.B, a Assigner) {
	buf := make([]Window, 0, 16)
	ts := int64(1_700_000_000_000)
	b.ReportAllocs()
	for b.Loop() {
		ts += 37
		buf = a.Assign(ts, buf[:0])
	}
}

func BenchmarkTumbling_Assign(b *testing.B) {
	benchmarkAssign(b, Tumbling(time.Minute))
}

func BenchmarkSliding_Assign(b *testing.B) {
	benchmarkAssign(b, Sliding(time.Minute, 10*time.Second))
}

func BenchmarkMergingSet_Add(b *testing.B) {
	s := NewMergingSet()
	noop := func(Window, []Window, Window, []Window) error { return nil }
	ts := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		ts += 7
		if _, err := s.Add(Window{ts, ts + 10}, noop); err != nil {
			b.Fatal(err)
		}
		if s.Len() > 64 {
			s.Restore(nil)
		}
	}
}
