package persistence

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkValueState_Update compares updating a value state with
// updating a plain map, over the same keys in the same run. The bbolt
// cases use the default write-back cache, which holds all the keys (the
// cost of the cache), and a cache of a quarter of them, flushed to the
// file every 256 new keys (the cost of going to the file).
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
	for _, cache := range []int{0, keys / 4} {
		b.Run(fmt.Sprintf("ValueState_bbolt_cache%d", cache), func(b *testing.B) {
			bb := benchBolt(b, cache)
			s := must(Value(bb, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				bb.SetCurrentKey(i % keys)
				n, _ := s.Value()
				s.Update(n + 1)
			}
			if err := bb.Flush(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// benchBolt returns an empty bbolt backend of int keys with a cache of
// cache entries (0: the default).
func benchBolt(b *testing.B, cache int) *BoltBackend[int] {
	bb, err := NewBoltBackend(BackendConfig[int]{MaxParallelism: 128, KeyCodec: intCodec{},
		KeyGroupOf: func(k int) int { return k % 128 }, CacheEntries: cache}, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bb.Close() })
	return bb
}

// BenchmarkSnapshot_1MKeys measures a checkpoint of one subtask holding a
// value state of 1 M int keys (int64 values): the snapshot (the in-line
// copy by key group), its encoding (what the store writes) and the
// restore, each as its own sub-benchmark; bytes/key is the encoded size.
// The bbolt sub-benchmarks take the same snapshot from (and restore it
// into) a BoltBackend; file-bytes/key is the size of its file.
// bbolt/checkpoint is a whole checkpoint of the bbolt subtask as the
// runtime takes it — BeginSnapshot at the barrier, then the state
// streamed into a DirStore — and bbolt/checkpoint-copy the same with the
// in-memory Snapshot, encoded in line and written whole: pause-ms is the
// time spent in line (what the subtask's goroutine waits for), and
// peak-heap-MB the most the heap grew during the checkpoint.
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
	benchBoltSnapshot(b, snap, keys)
}

func benchBoltSnapshot(b *testing.B, snap *KeyedSnapshot, keys int) {
	bb := benchBolt(b, 0)
	must(Value(bb, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
	if err := bb.Restore(snap); err != nil {
		b.Fatal(err)
	}
	if n := bb.Entries(); n != keys {
		b.Fatalf("restored %d keys, want %d", n, keys)
	}
	b.Run("bbolt/snapshot", func(b *testing.B) {
		for b.Loop() {
			if _, err := bb.Snapshot(); err != nil {
				b.Fatal(err)
			}
		}
		if fi, err := os.Stat(bb.Path()); err == nil {
			b.ReportMetric(float64(fi.Size())/float64(keys), "file-bytes/key")
		}
	})
	benchBoltCheckpoint(b, bb)
	b.Run("bbolt/restore", func(b *testing.B) {
		for b.Loop() {
			fresh := benchBolt(b, 0)
			must(Value(fresh, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
			if err := fresh.Restore(snap); err != nil {
				b.Fatal(err)
			}
			_ = fresh.Close()
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

// benchBoltCheckpoint measures checkpoints of bb into a DirStore, as the
// runtime takes them (streamed) and with an in-memory copy.
func benchBoltCheckpoint(b *testing.B, bb *BoltBackend[int]) {
	store := must(OpenDirStore(b.TempDir(), 1))
	b.Run("bbolt/checkpoint", func(b *testing.B) {
		benchCheckpoint(b, func(id int64) (pause time.Duration) {
			start := time.Now()
			snap := must(bb.BeginSnapshot())
			pause = time.Since(start)
			defer snap.Close()
			must(store.WriteStateFrom(context.Background(), id, "t", snap))
			return pause
		})
	})
	b.Run("bbolt/checkpoint-copy", func(b *testing.B) {
		benchCheckpoint(b, func(id int64) (pause time.Duration) {
			start := time.Now()
			data := must(must(bb.Snapshot()).MarshalBinary())
			pause = time.Since(start)
			must(store.WriteState(id, "t", data))
			return pause
		})
	})
}

// benchCheckpoint runs checkpoint b.N times and reports its mean pause
// and the peak heap growth.
func benchCheckpoint(b *testing.B, checkpoint func(id int64) time.Duration) {
	var pause time.Duration
	var peak uint64
	for i := int64(1); b.Loop(); i++ {
		peak = max(peak, heapPeak(func() { pause += checkpoint(i) }))
	}
	b.ReportMetric(float64(pause.Microseconds())/1e3/float64(b.N), "pause-ms")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// heapPeak runs fn and returns by how much the heap's live objects grew
// at most while it ran, sampled every 100 µs from the runtime's metrics
// (which does not stop the world) and once at the end.
func heapPeak(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			peak.Store(max(peak.Load(), read()))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	p := max(peak.Load(), read())
	return p - min(base, p)
}
