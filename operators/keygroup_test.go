package operators

import (
	"fmt"
	"slices"
	"testing"
)

// TestKeyGroupRange_SubtaskOf checks that the ranges tile [0, maxPar) in
// subtask order and that SubtaskOf maps every key group into its range.
func TestKeyGroupRange_SubtaskOf(t *testing.T) {
	for _, maxPar := range []int{1, 7, 128} {
		for par := 1; par <= 20; par++ {
			next := 0
			for s := range par {
				start, end := KeyGroupRange(s, par, maxPar)
				if start != next || end < start {
					t.Fatalf("par %d max %d: subtask %d owns [%d, %d), want a range starting at %d", par, maxPar, s, start, end, next)
				}
				for kg := start; kg < end; kg++ {
					if got := SubtaskOf(kg, par, maxPar); got != s {
						t.Fatalf("par %d max %d: SubtaskOf(%d) = %d, want %d", par, maxPar, kg, got, s)
					}
				}
				next = end
			}
			if next != maxPar {
				t.Fatalf("par %d max %d: ranges end at %d, want %d", par, maxPar, next, maxPar)
			}
		}
	}
}

// TestHashKey_fixed pins the hash values: key groups are stored with state,
// so a change of hash function must be deliberate.
func TestHashKey_fixed(t *testing.T) {
	type pair struct{ A int }
	cases := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"int 0", HashKey(0), 0},
		{"int 1", HashKey(1), 0xb456bcfc34c2cb2c},
		{"int64 1", HashKey(int64(1)), 0xb456bcfc34c2cb2c},
		{"int 42", HashKey(42), 0x810879608e4259cc},
		{"empty string", HashKey(""), 0xefd01f60ba992926},
		{"hello", HashKey("hello"), 0xe9c562c0fdb23244},
		{"struct (JSON)", HashKey(pair{A: 1}), 0x8bdcf158cfb645a6},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: hash %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

// TestHashKey_spreads checks that sequential keys spread like random ones.
// Not "every group used" at 1,000 keys: a uniform hash leaves some group of
// 128 empty about 5% of the time ((127/128)^1000 * 128), and this one
// leaves key group 33 empty for the ints 0..999.
func TestHashKey_spreads(t *testing.T) {
	const maxPar = 128
	cases := []struct {
		name              string
		keys              int
		hash              func(k int) uint64
		maxEmpty, maxLoad int
		minLoad           int
	}{
		{"ints 0..999", 1000, func(k int) uint64 { return HashKey(k) }, 2, 25, 0},
		{"strings key-0..key-999", 1000, func(k int) uint64 { return HashKey(fmt.Sprint("key-", k)) }, 2, 25, 0},
		// 78 per group on average; these bounds are more than 4 standard
		// deviations away.
		{"ints 0..9999", 10000, func(k int) uint64 { return HashKey(k) }, 0, 117, 39},
		{"strings key-0..key-9999", 10000, func(k int) uint64 { return HashKey(fmt.Sprint("key-", k)) }, 0, 117, 39},
	}
	for _, c := range cases {
		counts := make([]int, maxPar)
		for k := range c.keys {
			counts[KeyGroup(c.hash(k), maxPar)]++
		}
		empty := 0
		for _, n := range counts {
			if n == 0 {
				empty++
			}
		}
		if empty > c.maxEmpty || slices.Max(counts) > c.maxLoad || slices.Min(counts) < c.minLoad {
			t.Errorf("%s: %d empty groups (max %d), loads %d..%d (want %d..%d)",
				c.name, empty, c.maxEmpty, slices.Min(counts), slices.Max(counts), c.minLoad, c.maxLoad)
		}
	}
}
