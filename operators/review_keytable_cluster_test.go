package operators

import "testing"

// longestRun is the longest run of adjacent occupied slots of an integer
// key table (wrapping around): a lookup of a key in the run, or of a new
// key that lands in it, probes up to the whole run. Whatever the hash,
// keys that it spreads well leave runs of a few dozen slots at most at
// the table's load (at most half full): the odds of a run over 100 are
// about len(slots)·(0.5·e^0.5)^100, under 1e-4 for these sizes.
func longestRun[K comparable](t *keyTable[K]) int {
	best, cur := 0, 0
	for i := range 2 * len(t.slots) {
		if t.slots[i%len(t.slots)].idx != 0 {
			cur++
			best = max(best, min(cur, len(t.slots)))
		} else {
			cur = 0
		}
	}
	return best
}

// TestReviewKeyTable_keysInAProgressionDoNotPileUpInOneRun feeds the key
// table integer keys in arithmetic progressions. Fibonacci hashing maps
// key b to the top bits of b·2⁶⁴/φ: a progression of stride s moves
// (s·2⁶⁴/φ mod 2⁶⁴) per key, which for some strides is a sliver of the
// table, so its keys land side by side, and linear probing makes every
// lookup walk the run. Nothing in the keys is unusual:
//   - int64 Unix nanoseconds truncated to the second or to 100 ms (a key
//     per time bucket) for half an hour: runs of 250 slots, ~20-80 probes
//     a lookup on average where a spread hash takes ~1.5;
//   - a stride that is a Fibonacci number (102334155): every key within
//     a few slots of the last, one run of all of them: inserting n keys
//     costs n²/2 probes (40,000 keys: 1.3 s, against 5 ms for the Go map
//     the table replaced, which seeds its hash and so cannot be steered),
//     and every record of a key deep in the run pays a probe per key.
//
// Keys come from the records, so whoever writes the records picks them:
// the same stride from an adversary stalls the subtask (hash flooding).
func TestReviewKeyTable_keysInAProgressionDoNotPileUpInOneRun(t *testing.T) {
	const jan2026 = int64(1_767_225_600) * 1e9 // ns
	for _, tc := range []struct {
		name   string
		start  int64
		stride int64
		n      int
	}{
		{"second buckets in ns", jan2026, 1e9, 1000},
		{"100 ms buckets in ns", jan2026, 1e8, 2000},
		{"Fibonacci stride 102334155", 0, 102334155, 4000},
	} {
		tab := newKeyTable[int64]()
		for j := range tc.n {
			tab.index(tc.start + int64(j)*tc.stride)
		}
		if run := longestRun(&tab); run > 100 {
			t.Errorf("%s: %d keys start+j·%d fill a run of %d adjacent slots of %d (a well spread hash: a few dozen at most): "+
				"every lookup of a key in it, on every record, probes up to %d slots, where the Go map it replaced keeps its probes short",
				tc.name, tc.n, tc.stride, run, len(tab.slots), run)
		}
	}
}
