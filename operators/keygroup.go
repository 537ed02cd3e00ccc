package operators

import (
	"encoding/json"
	"hash/fnv"
	"math"
)

// KeyGroup returns the key group of a key hash: hash mod maxParallelism.
func KeyGroup(hash uint64, maxParallelism int) int {
	return int(hash % uint64(maxParallelism))
}

// SubtaskOf returns the subtask that owns a key group. Each subtask owns a
// contiguous range of key groups, so state moves by whole ranges on rescale.
func SubtaskOf(keyGroup, parallelism, maxParallelism int) int {
	return keyGroup * parallelism / maxParallelism
}

// KeyGroupRange returns the key groups [start, end) owned by a subtask; the
// inverse of SubtaskOf.
func KeyGroupRange(subtask, parallelism, maxParallelism int) (start, end int) {
	start = (subtask*maxParallelism + parallelism - 1) / parallelism
	end = ((subtask+1)*maxParallelism + parallelism - 1) / parallelism
	return start, end
}

// HashKey hashes a key deterministically: the same key gives the same hash
// in every process and every run, which key groups need.
func HashKey[K comparable](k K) uint64 { return keyHasher[K]()(k) }

// keyHasher picks a hash function for K once, so that hashing a key costs no
// boxing or reflection per record. Keys of other types than the common
// scalar ones are hashed through their JSON encoding: by hashing the same
// text without encoding it for integer, string and bool kinds (textHasher),
// through encoding/json for the others.
func keyHasher[K comparable]() func(K) uint64 {
	var zero K
	var f any
	switch any(zero).(type) {
	case int:
		f = func(k int) uint64 { return mix64(uint64(k)) }
	case int64:
		f = func(k int64) uint64 { return mix64(uint64(k)) }
	case int32:
		f = func(k int32) uint64 { return mix64(uint64(k)) }
	case uint:
		f = func(k uint) uint64 { return mix64(uint64(k)) }
	case uint64:
		f = mix64
	case uint32:
		f = func(k uint32) uint64 { return mix64(uint64(k)) }
	case string:
		f = hashString
	case bool:
		f = func(k bool) uint64 {
			if k {
				return mix64(1)
			}
			return mix64(0)
		}
	case float64:
		f = func(k float64) uint64 { return mix64(math.Float64bits(k)) }
	default:
		if h := textHasher[K](); h != nil {
			return h
		}
		return hashJSON[K]
	}
	return f.(func(K) uint64)
}

// mix64 is the finaliser of MurmurHash3: it spreads sequential integers
// evenly over key groups.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// hashString is FNV-1a, finalised with mix64.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// hashJSON hashes a key's JSON encoding; textHasher's hashes must equal it.
func hashJSON[K comparable](k K) uint64 {
	b, err := json.Marshal(k)
	if err != nil {
		// A key that cannot be encoded still needs a stable home; its type
		// name is the best stable value left.
		b = []byte(err.Error())
	}
	h := fnv.New64a()
	h.Write(b)
	return mix64(h.Sum64())
}
