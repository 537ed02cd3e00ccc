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

// Named and small scalar key types, hashed through their JSON text.
type (
	testID    int
	testName  string
	testU16   uint16
	testFlag  bool
	testPrice float64
	testPair  struct {
		A int
		B string
	}
)

// testTextID has a text encoding of its own, which JSON uses.
type testTextID int

func (i testTextID) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("id-%d", int(i))), nil }

// TestKeyGroup_pinned pins the key group (of 128) and hash of keys of each
// kind of key type: key groups are stored with state, so savepoints taken
// before a change of the hashing must restore after it.
func TestKeyGroup_pinned(t *testing.T) {
	cases := []struct {
		name string
		hash uint64
		kg   int
	}{
		{"int 1", HashKey(1), 44},
		{"int -7", HashKey(-7), 126},
		{"int64 1<<40", HashKey(int64(1) << 40), 118},
		{"string hello", HashKey("hello"), 68},
		{"string ünï", HashKey("ünï"), 99},
		{"bool true", HashKey(true), 44},
		{"named int 0", HashKey(testID(0)), 44},
		{"named int 1", HashKey(testID(1)), 86},
		{"named int 42", HashKey(testID(42)), 108},
		{"named int -7", HashKey(testID(-7)), 112},
		{"named string empty", HashKey(testName("")), 119},
		{"named string hello", HashKey(testName("hello")), 90},
		{"named string a<b", HashKey(testName("a<b")), 80},
		{"named string ünï", HashKey(testName("ünï")), 95},
		{"named uint16 7", HashKey(testU16(7)), 23},
		{"named uint16 65535", HashKey(testU16(65535)), 64},
		{"int8 -128", HashKey(int8(-128)), 32},
		{"int8 5", HashKey(int8(5)), 121},
		{"named bool true", HashKey(testFlag(true)), 33},
		{"named bool false", HashKey(testFlag(false)), 103},
		{"named float 1.5", HashKey(testPrice(1.5)), 18},
		{"struct", HashKey(testPair{1, "x"}), 38},
	}
	for _, c := range cases {
		if got := KeyGroup(c.hash, 128); got != c.kg {
			t.Errorf("%s: key group %d (hash %#x), want %d", c.name, got, c.hash, c.kg)
		}
	}
}

// Keys of named integer, string and bool types hash as their JSON text
// does (the hash they always had), for every value, including strings
// that JSON escapes; types with an encoding of their own keep it.
func TestHashKey_namedTypesMatchJSON(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 9, 10, -10, 1<<31 - 1, -1 << 31, 1<<63 - 1, -1 << 63} {
		sameAsJSON(t, testID(v))
		sameAsJSON(t, int8(v))
		sameAsJSON(t, int16(v))
		sameAsJSON(t, testU16(v))
		sameAsJSON(t, uint8(v))
		sameAsJSON(t, testTextID(v))
	}
	for _, s := range []string{"", "a", "hello world", `quote"`, `back\slash`, "<tag>&", "tab\there",
		"nl\n", "\x00\x1f\x7f", "ünïcödé", "\u2028\u2029", "bad \xff utf8", "日本語"} {
		sameAsJSON(t, testName(s))
	}
	sameAsJSON(t, testFlag(true))
	sameAsJSON(t, testFlag(false))
}

func sameAsJSON[K comparable](t *testing.T, k K) {
	t.Helper()
	if got, want := HashKey(k), hashJSON(k); got != want {
		t.Errorf("HashKey(%T %v) = %#x, JSON hash %#x", k, k, got, want)
	}
}

// Hashing a named integer, string or bool key allocates nothing: no JSON
// encoding per record. (The hash function is picked once per operator, as
// KeyBy and the keyed state do.)
func TestHashKey_namedTypesDoNotEncode(t *testing.T) {
	id, name, u16, i8, flag := keyHasher[testID](), keyHasher[testName](), keyHasher[testU16](), keyHasher[int8](), keyHasher[testFlag]()
	for what, hash := range map[string]func(){
		"named int":    func() { id(123456) },
		"named string": func() { name("user-42") },
		"named uint16": func() { u16(7) },
		"int8":         func() { i8(-5) },
		"named bool":   func() { flag(true) },
	} {
		if n := testing.AllocsPerRun(100, hash); n != 0 {
			t.Errorf("%s: %v allocations per hash, want 0", what, n)
		}
	}
}

func FuzzHashKey_namedTypesMatchJSON(f *testing.F) {
	f.Add("hello", int64(42))
	f.Add("a\"<\xff", int64(-1))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		sameAsJSON(t, testName(s))
		sameAsJSON(t, testID(n))
		sameAsJSON(t, testU16(n))
		sameAsJSON(t, int16(n))
	})
}

// chanShipper records the channel of every record it is shipped.
type chanShipper struct{ chans []int }

func (s *chanShipper) Ship(ch int, batch any) {
	for range batch.(*Batch[uint64]).Elems {
		s.chans = append(s.chans, ch)
	}
}
func (s *chanShipper) ShipEvent(int, Event) {}

// A router sends each record to the subtask that owns its key group,
// SubtaskOf(KeyGroup(hash)), on every path: one hash edge over a
// power-of-two max parallelism (mask and shift) or another (division),
// one channel, and several edges.
func TestRouter_hashChannels(t *testing.T) {
	st := newStreamOps[uint64]()
	identity := func(v uint64) uint64 { return v }
	hashes := []uint64{0, 1, 2, 127, 128, 129, 1 << 40, 1<<63 + 5, ^uint64(0)}
	for i := range uint64(200) {
		hashes = append(hashes, mix64(i))
	}
	for _, maxPar := range []int{1, 7, 128, 100, 1 << 15} {
		for _, width := range []int{1, 2, 3, 4, 7} {
			if width > maxPar {
				continue
			}
			for _, extra := range []bool{false, true} {
				edges := []route{{part: Hash, base: 1, width: width, maxPar: maxPar, hash: identity}}
				if extra { // a second edge: the general router
					edges = append(edges, route{part: Forward, base: 0, width: 1})
				}
				ship := &chanShipper{}
				r := st.newRouter(edges, ship, 0, 1, 0).(Collector[uint64])
				for _, h := range hashes {
					r.Collect(h, NoTimestamp)
				}
				var want []int
				for _, h := range hashes {
					if extra {
						want = append(want, 1+SubtaskOf(KeyGroup(h, maxPar), width, maxPar), 0)
					} else {
						want = append(want, 1+SubtaskOf(KeyGroup(h, maxPar), width, maxPar))
					}
				}
				if !slices.Equal(ship.chans, want) {
					t.Fatalf("max %d width %d extra edge %v: channels %v, want %v", maxPar, width, extra, ship.chans, want)
				}
			}
		}
	}
}
