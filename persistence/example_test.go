package persistence_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/troupe-dev/troupe/persistence"
)

// stringCodec encodes strings as their bytes.
type stringCodec struct{}

func (stringCodec) Append(dst []byte, s string) ([]byte, error) { return append(dst, s...), nil }
func (stringCodec) Decode(b []byte) (string, error)             { return string(b), nil }

// intCodec encodes ints as varints.
type intCodec struct{}

func (intCodec) Append(dst []byte, v int) ([]byte, error) {
	return binary.AppendVarint(dst, int64(v)), nil
}

func (intCodec) Decode(b []byte) (int, error) {
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, errors.New("bad varint")
	}
	return int(v), nil
}

const maxParallelism = 4

func keyGroupOf(k string) int {
	h := fnv.New32a()
	h.Write([]byte(k))
	return int(h.Sum32() % maxParallelism)
}

// A keyed operator counts words: the backend scopes the state to the
// current key.
func ExampleValue() {
	b, err := persistence.NewHeapBackend(persistence.BackendConfig[string]{
		MaxParallelism: maxParallelism, KeyGroupOf: keyGroupOf, KeyCodec: stringCodec{},
	})
	if err != nil {
		panic(err)
	}
	count, err := persistence.Value(b, persistence.ValueDescriptor[int]{Name: "count", Codec: intCodec{}})
	if err != nil {
		panic(err)
	}
	for _, word := range []string{"to", "be", "or", "not", "to", "be"} {
		b.SetCurrentKey(word)
		n, _ := count.Value()
		count.Update(n + 1)
	}
	b.SetCurrentKey("to")
	n, _ := count.Value()
	fmt.Println("to:", n, "entries:", b.Entries())
	// Output: to: 2 entries: 4
}

// State written by one subtask is restored into two, each keeping the
// key groups it owns.
func ExampleHeapBackend_Snapshot() {
	backend := func(r persistence.Range) *persistence.HeapBackend[string] {
		b, err := persistence.NewHeapBackend(persistence.BackendConfig[string]{
			MaxParallelism: maxParallelism, KeyGroups: r, KeyGroupOf: keyGroupOf, KeyCodec: stringCodec{},
		})
		if err != nil {
			panic(err)
		}
		return b
	}
	desc := persistence.ValueDescriptor[int]{Name: "count", Codec: intCodec{}}

	old := backend(persistence.Range{Start: 0, End: maxParallelism})
	count, _ := persistence.Value(old, desc)
	for i, k := range []string{"a", "b", "c", "d", "e", "f"} {
		old.SetCurrentKey(k)
		count.Update(i)
	}
	snap, err := old.Snapshot()
	if err != nil {
		panic(err)
	}
	stored, _ := snap.MarshalBinary() // what a checkpoint writes

	loaded, err := persistence.UnmarshalKeyedSnapshot(stored)
	if err != nil {
		panic(err)
	}
	for _, r := range []persistence.Range{{Start: 0, End: 2}, {Start: 2, End: 4}} {
		b := backend(r)
		if err := b.Restore(loaded); err != nil {
			panic(err)
		}
		// States may be registered after Restore: operators do so lazily.
		if _, err := persistence.Value(b, desc); err != nil {
			panic(err)
		}
		keys := b.Keys("count")
		slices.Sort(keys)
		fmt.Println(r, keys)
	}
	// Output:
	// [0, 2) [a b e f]
	// [2, 4) [c d]
}
