package persistence

import (
	"bytes"
	"encoding/binary"
	"math"
)

// The layout of a BoltBackend's file. Each generation of the state (a
// Restore starts a new one) is a top-level bucket, named "g" and the
// generation as 8 bytes big endian, holding one bucket per state:
//
//   - "s/" + name: the entries of a registered state;
//   - "p/" + name: the records restored for a state not yet registered,
//     as parsed from the snapshot (key: key group | uvarint len(key) |
//     key as restored | 8-byte sequence number, so that a key's records
//     are contiguous and in their order; value: the record's snapshot
//     encoding).
//
// An entry's key is
//
//	key group (2 bytes big endian) | uvarint len(key) | key | user key
//
// with the key (and a map state's user key) encoded by the codecs, so
// that the entries of a key group, and of a key, are contiguous. A value,
// reducing, aggregating or map state stores per entry
//
//	varint TTL timestamp (0 without TTL) | value
//
// and a list state one entry per key holding its elements, each
//
//	varint TTL timestamp | uvarint len(value) | value
const (
	statePrefix   = "s/"
	pendingPrefix = "p/"
	// maxBoltGroups is the number of key groups a 2-byte prefix holds.
	maxBoltGroups = math.MaxUint16 + 1
)

func genName(gen uint64) []byte { return binary.BigEndian.AppendUint64([]byte("g"), gen) }

// appendEntryKey appends the prefix of key group kg and encoded key key.
func appendEntryKey(dst []byte, kg int, key []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(kg))
	return appendBytes(dst, key)
}

// splitEntryKey splits an entry key into its key group, its key prefix
// (key group and key: what the entries of one key share), its encoded
// key and its user key.
func splitEntryKey(ek []byte) (kg int, prefix, key, ukey []byte, ok bool) {
	if len(ek) < 2 {
		return 0, nil, nil, nil, false
	}
	n, w := binary.Uvarint(ek[2:])
	end := 2 + w + int(n)
	if w <= 0 || n > uint64(len(ek)-2-w) {
		return 0, nil, nil, nil, false
	}
	return int(binary.BigEndian.Uint16(ek)), ek[:end], ek[2+w : end], ek[end:], true
}

// appendValue appends a stored value: TTL timestamp, then payload.
func appendValue(dst []byte, ts int64, payload []byte) []byte {
	return append(binary.AppendVarint(dst, ts), payload...)
}

// splitValue splits a stored value into its timestamp and payload.
func splitValue(v []byte) (ts int64, payload []byte, ok bool) {
	ts, w := binary.Varint(v)
	if w <= 0 {
		return 0, nil, false
	}
	return ts, v[w:], true
}

// appendElem appends one element of a stored list.
func appendElem(dst []byte, ts int64, payload []byte) []byte {
	return appendBytes(binary.AppendVarint(dst, ts), payload)
}

// elems iterates over the elements of a stored list; it stops, and
// returns false, at the first malformed one.
func elems(v []byte, fn func(ts int64, payload []byte) bool) bool {
	for len(v) > 0 {
		ts, w := binary.Varint(v)
		if w <= 0 {
			return false
		}
		n, w2 := binary.Uvarint(v[w:])
		if w2 <= 0 || n > uint64(len(v)-w-w2) {
			return false
		}
		start := w + w2
		if !fn(ts, v[start:start+int(n)]) {
			return true
		}
		v = v[start+int(n):]
	}
	return true
}

// arena hands out byte slices that stay valid until it is dropped: bbolt
// needs the keys and values put in a transaction to live until it
// commits, and one allocation per chunk beats one per entry.
type arena struct{ chunk []byte }

const arenaChunk = 64 << 10

// copy returns a copy of b in the arena.
func (a *arena) copy(b []byte) []byte {
	if len(b) > arenaChunk/4 {
		return bytes.Clone(b)
	}
	if cap(a.chunk)-len(a.chunk) < len(b) {
		a.chunk = make([]byte, 0, arenaChunk)
	}
	n := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return a.chunk[n:len(a.chunk):len(a.chunk)]
}
