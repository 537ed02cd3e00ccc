package persistence

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// intCodec encodes ints as varints.
type intCodec struct{}

func (intCodec) Append(dst []byte, v int) ([]byte, error) {
	return binary.AppendVarint(dst, int64(v)), nil
}

func (intCodec) Decode(b []byte) (int, error) {
	v, n := binary.Varint(b)
	if n <= 0 || n != len(b) {
		return 0, errors.New("intCodec: bad varint")
	}
	return int(v), nil
}

// stringCodec encodes strings as their bytes.
type stringCodec struct{}

func (stringCodec) Append(dst []byte, v string) ([]byte, error) { return append(dst, v...), nil }
func (stringCodec) Decode(b []byte) (string, error)             { return string(b), nil }

// failCodec fails every call.
type failCodec[T any] struct{}

func (failCodec[T]) Append(dst []byte, v T) ([]byte, error) { return dst, errors.New("failCodec") }
func (failCodec[T]) Decode(b []byte) (T, error) {
	var zero T
	return zero, errors.New("failCodec")
}

// testMaxPar is the max parallelism of test backends.
const testMaxPar = 8

func keyGroupOf(k string) int {
	h := fnv.New32a()
	h.Write([]byte(k))
	return int(h.Sum32() % testMaxPar)
}

// clock is a manual clock for TTL tests.
type clock struct{ t time.Time }

func newClock() *clock                   { return &clock{t: time.Unix(1_000, 0)} }
func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newBackend returns a backend of string keys over key groups r (the zero
// Range: all), with clock c (nil: a new one). On cleanup it checks the
// backend's invariants.
func newBackend(t testing.TB, r Range, c *clock) *HeapBackend[string] {
	t.Helper()
	if c == nil {
		c = newClock()
	}
	b, err := NewHeapBackend(BackendConfig[string]{
		MaxParallelism: testMaxPar, KeyGroups: r, KeyGroupOf: keyGroupOf,
		KeyCodec: stringCodec{}, Now: c.now,
	})
	if err != nil {
		t.Fatalf("NewHeapBackend: %v", err)
	}
	t.Cleanup(func() { checkBackend(t, b) })
	return b
}

// checkBackend fails t if a state of b breaks an invariant.
func checkBackend(t testing.TB, b *HeapBackend[string]) {
	t.Helper()
	for name, r := range b.states {
		if err := r.t.check(); err != nil {
			t.Errorf("state %q: %v", name, err)
		}
		if got := r.t.meta().name; got != name {
			t.Errorf("state registered as %q is named %q", name, got)
		}
	}
}

// must returns v, panicking if err is not nil. Tests use it for setup
// steps that cannot fail unless the test itself is wrong.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// wantErr fails t unless err wraps sentinel and its message contains
// every one of parts.
func wantErr(t testing.TB, err, sentinel error, parts ...string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want one wrapping %v", err, sentinel)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// keysIn returns the keys of n test keys that are in key groups r.
func keysIn(n int, r Range) []string {
	var ks []string
	for i := range n {
		if k := testKey(i); r.Contains(keyGroupOf(k)) {
			ks = append(ks, k)
		}
	}
	return ks
}

func testKey(i int) string { return "k" + string(rune('a'+i%26)) + string(rune('a'+i/26)) }

// keyIndex inverts testKey.
func keyIndex(k string) int { return int(k[1]-'a') + 26*int(k[2]-'a') }

// newBoltBackend returns a BoltBackend like newBackend's, over a file in
// a temporary directory, with a write-back cache of cache entries (0: the
// default). It closes the backend on cleanup.
func newBoltBackend(t testing.TB, r Range, c *clock, cache int) *BoltBackend[string] {
	t.Helper()
	if c == nil {
		c = newClock()
	}
	b, err := NewBoltBackend(BackendConfig[string]{
		MaxParallelism: testMaxPar, KeyGroups: r, KeyGroupOf: keyGroupOf,
		KeyCodec: stringCodec{}, Now: c.now, CacheEntries: cache,
	}, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatalf("NewBoltBackend: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Err(); errors.Is(err, ErrStorage) {
			t.Errorf("bbolt backend: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// newFunc makes a test backend over key groups r with clock c (nil: a
// new one).
type newFunc func(t testing.TB, r Range, c *clock) Backend[string]

// backendKinds are the backends that behaviour tests run against: the
// heap, and bbolt with a tiny cache (every few accesses go to the file)
// and with the default one.
var backendKinds = []struct {
	name string
	new  newFunc
}{
	{"heap", func(t testing.TB, r Range, c *clock) Backend[string] { return newBackend(t, r, c) }},
	{"bbolt", func(t testing.TB, r Range, c *clock) Backend[string] { return newBoltBackend(t, r, c, 2) }},
	{"bboltCached", func(t testing.TB, r Range, c *clock) Backend[string] { return newBoltBackend(t, r, c, 0) }},
}

// forEachBackend runs f as a subtest per backend kind.
func forEachBackend(t *testing.T, f func(t *testing.T, nb newFunc)) {
	t.Helper()
	for _, k := range backendKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k.new) })
	}
}

// registered returns those of names that are registered states of b.
func registered(b Backend[string], names ...string) []string {
	var out []string
	for _, n := range names {
		if _, _, ok := b.lookup(n); ok {
			out = append(out, n)
		}
	}
	return out
}
