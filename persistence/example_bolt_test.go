package persistence_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/troupe-dev/troupe/persistence"
)

// State larger than memory lives in a bbolt file; its snapshots restore
// into a heap backend (and back), for the format is the same.
func ExampleNewBoltBackend() {
	dir, err := os.MkdirTemp("", "state")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg := persistence.BackendConfig[string]{MaxParallelism: maxParallelism, KeyGroupOf: keyGroupOf,
		KeyCodec: stringCodec{}, CacheEntries: 1000}
	b, err := persistence.NewBoltBackend(cfg, filepath.Join(dir, "count-0.db"))
	if err != nil {
		panic(err)
	}
	defer b.Close()
	count, err := persistence.Value(b, persistence.ValueDescriptor[int]{Name: "count", Codec: intCodec{}})
	if err != nil {
		panic(err)
	}
	for _, word := range []string{"to", "be", "or", "not", "to", "be"} {
		b.SetCurrentKey(word)
		n, _ := count.Value()
		count.Update(n + 1)
	}
	snap, err := b.Snapshot()
	if err != nil {
		panic(err)
	}
	heap, _ := persistence.NewHeapBackend(cfg)
	if err := heap.Restore(snap); err != nil {
		panic(err)
	}
	restored, _ := persistence.Value(heap, persistence.ValueDescriptor[int]{Name: "count", Codec: intCodec{}})
	heap.SetCurrentKey("be")
	n, _ := restored.Value()
	fmt.Println("be:", n)
	// Output: be: 2
}
