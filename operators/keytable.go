package operators

import (
	"math/bits"
	"math/rand/v2"
	"reflect"
	"unsafe"
)

// keyTable gives each key of a keyed operator's state a dense index, in
// the order the keys first came, so that the state itself can live in a
// slice beside it: an update costs one probe and no pointer to chase.
//
// Keys that are 4- or 8-byte integers (of any named type) are probed in
// an open-addressed table on their bits — a seeded mix of the bits,
// linear probing, at most half full — which costs 0.55–0.65 of a Go map
// lookup on the keyed path (BenchmarkKeyTable). The mix, not the
// bits times 2⁶⁴/φ alone (Fibonacci hashing): with that, keys in an
// arithmetic progression of some strides (Unix nanoseconds by the
// second, any Fibonacci number) land side by side and linear probing
// walks their whole run on every lookup (a single 128-bit multiply with
// its halves folded still did for some strides); the seed, drawn per
// table, is so that the records' writer cannot pick keys that collide,
// as it cannot for a Go map. For integers, equal bits are equal keys, so
// nothing else is compared. Every other key type goes through a Go map.
// Keys are never removed: a keyed reduce keeps each key's running value
// for as long as the job runs, as Flink's does without a state TTL.
type keyTable[K comparable] struct {
	width uint8     // 8 or 4: the size of an integer key; 0: other keys, in m
	shift uint8     // 64 - log2(len(slots))
	seed  uint64    // mixed into every key's bits (home)
	slots []keySlot // for integer keys
	keys  []K       // by index
	m     map[K]int
}

// keySlot is one entry of the open-addressed table: the key's bits and
// its index plus one (0: empty).
type keySlot struct {
	bits uint64
	idx  int
}

// home is the slot where the key of bits b starts its probe: the top
// bits of the seeded bits through MurmurHash3's 64-bit finalizer (whose
// last shift, which leaves the top bits alone, is left out).
func (t *keyTable[K]) home(b uint64) int {
	x := b ^ t.seed
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return int(x >> t.shift)
}

// minKeySlots is the smallest open-addressed table.
const minKeySlots = 16

// newKeyTable returns an empty table for keys of type K.
func newKeyTable[K comparable]() keyTable[K] {
	t := keyTable[K]{width: integerWidth(reflect.TypeFor[K]()), seed: rand.Uint64()}
	if t.width == 0 {
		t.m = make(map[K]int)
		return t
	}
	t.resize(minKeySlots)
	return t
}

// integerWidth is the size of t if it is a 4- or 8-byte integer kind, and
// 0 otherwise.
func integerWidth(t reflect.Type) uint8 {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Uintptr,
		reflect.Int32, reflect.Uint32:
		if s := t.Size(); s == 4 || s == 8 {
			return uint8(s)
		}
	}
	return 0
}

// len is the number of keys.
func (t *keyTable[K]) len() int { return len(t.keys) }

// key returns the key of index i.
func (t *keyTable[K]) key(i int) K { return t.keys[i] }

// index returns k's index, adding k with the next one (len before the
// call) if it is new; found says whether it was there.
func (t *keyTable[K]) index(k K) (i int, found bool) {
	if t.width == 0 {
		return t.mapIndex(k)
	}
	b := t.bits(&k)
	s, ok := t.probe(b)
	if ok {
		return t.slots[s].idx - 1, true
	}
	return t.insert(k, b, s), false
}

// probe returns the slot of the key of bits b, or the empty slot where
// it would go.
func (t *keyTable[K]) probe(b uint64) (slot int, found bool) {
	mask := len(t.slots) - 1
	for s := t.home(b); ; s = (s + 1) & mask {
		switch sl := t.slots[s]; {
		case sl.idx == 0:
			return s, false
		case sl.bits == b:
			return s, true
		}
	}
}

// bits reads an integer key's bits (width says its size).
func (t *keyTable[K]) bits(k *K) uint64 {
	if t.width == 8 {
		return *(*uint64)(unsafe.Pointer(k))
	}
	return uint64(*(*uint32)(unsafe.Pointer(k)))
}

// insert adds k, whose bits are b, at empty slot s, first doubling the
// table if it would be more than half full.
func (t *keyTable[K]) insert(k K, b uint64, s int) int {
	if 2*(len(t.keys)+1) > len(t.slots) {
		t.resize(2 * len(t.slots))
		s, _ = t.probe(b)
	}
	t.keys = append(t.keys, k)
	t.slots[s] = keySlot{bits: b, idx: len(t.keys)}
	return len(t.keys) - 1
}

// resize makes the open-addressed table n slots (a power of two) and
// puts every key back.
func (t *keyTable[K]) resize(n int) {
	t.slots = make([]keySlot, n)
	t.shift = uint8(64 - (bits.Len(uint(n)) - 1)) // 64 - log2(n)
	for i := range t.keys {
		b := t.bits(&t.keys[i])
		s, _ := t.probe(b)
		t.slots[s] = keySlot{bits: b, idx: i + 1}
	}
}

// mapIndex is index for keys that are not integers.
func (t *keyTable[K]) mapIndex(k K) (int, bool) {
	if i, ok := t.m[k]; ok {
		return i, true
	}
	t.keys = append(t.keys, k)
	t.m[k] = len(t.keys) - 1
	return len(t.keys) - 1, false
}

// reset empties the table.
func (t *keyTable[K]) reset() {
	t.keys = t.keys[:0]
	if t.width == 0 {
		clear(t.m)
		return
	}
	t.resize(minKeySlots)
}
