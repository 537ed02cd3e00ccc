package operators

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"unsafe"
)

// The hash of a key of a named type (type ID int), or of an integer type
// without a case of its own (int8, uint16), has always been that of its
// JSON encoding (hashJSON). Key groups are stored with state, so that hash
// must not change, or savepoints would restore state into the wrong key
// groups; but encoding/json costs reflection and allocations per record.
// textHasher hashes the very bytes JSON would write — decimal digits,
// true or false, a quoted string — without encoding them.

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// textHasher returns a hash function equal to hashJSON[K] for an integer,
// string or bool kind K whose JSON encoding is the default one, and nil
// for any other K (floats, whose JSON text is intricate, included). It
// reads the key through unsafe.Pointer as its kind's type, which has the
// same memory layout; reflection runs once, here, not per key.
func textHasher[K comparable]() func(K) uint64 {
	t := reflect.TypeFor[K]()
	if encodesItself(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Int:
		return func(k K) uint64 { return hashDecimal(int64(*(*int)(unsafe.Pointer(&k)))) }
	case reflect.Int8:
		return func(k K) uint64 { return hashDecimal(int64(*(*int8)(unsafe.Pointer(&k)))) }
	case reflect.Int16:
		return func(k K) uint64 { return hashDecimal(int64(*(*int16)(unsafe.Pointer(&k)))) }
	case reflect.Int32:
		return func(k K) uint64 { return hashDecimal(int64(*(*int32)(unsafe.Pointer(&k)))) }
	case reflect.Int64:
		return func(k K) uint64 { return hashDecimal(*(*int64)(unsafe.Pointer(&k))) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return unsignedHasher[K](t.Kind())
	case reflect.String:
		return func(k K) uint64 { return hashJSONString(*(*string)(unsafe.Pointer(&k)), k) }
	case reflect.Bool:
		return func(k K) uint64 {
			if *(*bool)(unsafe.Pointer(&k)) {
				return hashBytes([]byte("true"))
			}
			return hashBytes([]byte("false"))
		}
	}
	return nil
}

func unsignedHasher[K comparable](kind reflect.Kind) func(K) uint64 {
	switch kind {
	case reflect.Uint:
		return func(k K) uint64 { return hashUnsigned(uint64(*(*uint)(unsafe.Pointer(&k)))) }
	case reflect.Uint8:
		return func(k K) uint64 { return hashUnsigned(uint64(*(*uint8)(unsafe.Pointer(&k)))) }
	case reflect.Uint16:
		return func(k K) uint64 { return hashUnsigned(uint64(*(*uint16)(unsafe.Pointer(&k)))) }
	case reflect.Uint32:
		return func(k K) uint64 { return hashUnsigned(uint64(*(*uint32)(unsafe.Pointer(&k)))) }
	case reflect.Uint64:
		return func(k K) uint64 { return hashUnsigned(*(*uint64)(unsafe.Pointer(&k))) }
	}
	return func(k K) uint64 { return hashUnsigned(uint64(*(*uintptr)(unsafe.Pointer(&k)))) }
}

// encodesItself reports whether encoding/json would call a method of t's
// (or, for an addressable value, of *t's) instead of its default encoding.
func encodesItself(t reflect.Type) bool {
	for _, m := range []reflect.Type{jsonMarshaler, textMarshaler} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return true
		}
	}
	return false
}

func hashDecimal(n int64) uint64 {
	var buf [20]byte
	return hashBytes(strconv.AppendInt(buf[:0], n, 10))
}

func hashUnsigned(n uint64) uint64 {
	var buf [20]byte
	return hashBytes(strconv.AppendUint(buf[:0], n, 10))
}

// hashJSONString hashes s quoted as JSON quotes it. A string that JSON
// writes as it is (printable ASCII without '"', '\\', '<', '>' or '&') is
// hashed in place; any other goes through encoding/json, whose escaping
// rules are then the reference.
func hashJSONString[K comparable](s string, k K) uint64 {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return hashJSON(k)
		}
	}
	h := fnvAdd(fnvOffset, '"')
	for i := 0; i < len(s); i++ {
		h = fnvAdd(h, s[i])
	}
	return mix64(fnvAdd(h, '"'))
}

// FNV-1a, as hash/fnv's New64a computes it, without its allocation.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

// hashBytes is hashJSON's hash of bytes: FNV-1a finalised with mix64.
func hashBytes(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h = fnvAdd(h, c)
	}
	return mix64(h)
}
