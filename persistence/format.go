package persistence

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// FormatVersion is the snapshot format version that Seal writes.
const FormatVersion = 1

// FormatVersionChannels is the version of the metadata of a checkpoint
// with in-flight data (unaligned): its envelope is the same, but a build
// that reads only FormatVersion would restore it without its channel
// state, losing records, so it must refuse it. Unseal reads both.
const FormatVersionChannels = 2

// magic opens every sealed snapshot.
const magic = "TRPS"

// headerLen is the fixed part of the header: magic, version, kind.
const headerLen = len(magic) + 2

// checksumLen is the size of the trailing CRC-32C.
const checksumLen = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Kind says what a sealed payload holds.
type Kind byte

// The kinds of sealed payloads.
const (
	// KindKeyed is a KeyedSnapshot.
	KindKeyed Kind = iota + 1
	// KindOperator is an OperatorSnapshot.
	KindOperator
	// KindMetadata is a checkpoint's metadata.
	KindMetadata
	// KindSubtask is the state of one subtask at a checkpoint (the states
	// of its operators, as the runtime encodes them).
	KindSubtask
	// KindRecord is a job store record (DirJobStore): its revision and
	// value.
	KindRecord
)

// String returns the kind's name, or "kind(n)" for an unknown one.
func (k Kind) String() string {
	switch k {
	case KindKeyed:
		return "keyed"
	case KindOperator:
		return "operator"
	case KindMetadata:
		return "metadata"
	case KindSubtask:
		return "subtask"
	case KindRecord:
		return "record"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

func (k Kind) valid() bool { return k >= KindKeyed && k <= KindRecord }

// Seal wraps a payload in the snapshot envelope:
//
//	"TRPS" | version (1 byte) | kind (1 byte) | uvarint len(payload) |
//	payload | CRC-32C (Castagnoli) of all the preceding bytes, big endian
//
// Seal does not check kind; Unseal rejects kinds it does not know.
func Seal(kind Kind, payload []byte) []byte {
	b := make([]byte, 0, sealedLen(int64(len(payload))))
	b = appendSealHeader(b, kind, int64(len(payload)))
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// sealedLen returns the length of the envelope of a payload of n bytes.
func sealedLen(n int64) int64 {
	return int64(headerLen+uvarintLen(uint64(n))+checksumLen) + n
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// appendSealHeader appends the envelope's header for a payload of n
// bytes of the given kind.
func appendSealHeader(dst []byte, kind Kind, n int64) []byte {
	dst = append(dst, magic...)
	dst = append(dst, FormatVersion, byte(kind))
	return binary.AppendUvarint(dst, uint64(n))
}

// sealWriter writes Seal's envelope around a payload that streams
// through it, so that the payload is never held whole: the header (the
// payload's length must be known in advance), then what is written,
// then, at Close, the checksum. Its errors are sticky.
type sealWriter struct {
	w    io.Writer
	crc  uint32
	left int64 // payload bytes still to come
	err  error
}

// newSealWriter writes the header of an envelope of kind around a
// payload of n bytes to w.
func newSealWriter(w io.Writer, kind Kind, n int64) *sealWriter {
	s := &sealWriter{w: w, left: n}
	s.put(appendSealHeader(make([]byte, 0, headerLen+binary.MaxVarintLen64), kind, n))
	return s
}

// put writes b to w and adds it to the checksum.
func (s *sealWriter) put(b []byte) {
	if s.err != nil {
		return
	}
	s.crc = crc32.Update(s.crc, castagnoli, b)
	_, s.err = s.w.Write(b)
}

// Write writes payload bytes; more than announced is an error wrapping
// ErrCorrupt.
func (s *sealWriter) Write(p []byte) (int, error) {
	if s.err == nil && int64(len(p)) > s.left {
		s.err = corruptf("sealed payload longer than the %d bytes announced", s.left+int64(len(p)))
	}
	s.put(p)
	if s.err != nil {
		return 0, s.err
	}
	s.left -= int64(len(p))
	return len(p), nil
}

// Close writes the checksum; a payload shorter than announced is an
// error wrapping ErrCorrupt.
func (s *sealWriter) Close() error {
	if s.err == nil && s.left != 0 {
		s.err = corruptf("sealed payload %d bytes shorter than announced", s.left)
	}
	if s.err == nil {
		_, s.err = s.w.Write(binary.BigEndian.AppendUint32(nil, s.crc))
	}
	return s.err
}

// Unseal checks a sealed snapshot and returns its kind and payload. The
// payload aliases b. Errors wrap ErrCorrupt (bad magic, truncation, length
// or checksum mismatch, unknown kind) or ErrVersion.
func Unseal(b []byte) (Kind, []byte, error) {
	if err := checkHeader(b); err != nil {
		return 0, nil, err
	}
	n, w := binary.Uvarint(b[headerLen:])
	if w <= 0 {
		return 0, nil, corruptf("truncated or overlong payload length at offset %d", headerLen)
	}
	start := headerLen + w
	have := len(b) - start - checksumLen
	if have < 0 {
		return 0, nil, corruptf("truncated: %d bytes, the header and checksum need %d", len(b), start+checksumLen)
	}
	if n != uint64(have) {
		return 0, nil, corruptf("length mismatch: header at offset %d says %d payload bytes, found %d", headerLen, n, have)
	}
	end := len(b) - checksumLen
	stored := binary.BigEndian.Uint32(b[end:])
	if sum := crc32.Checksum(b[:end], castagnoli); sum != stored {
		return 0, nil, corruptf("checksum mismatch at offset %d: stored %08x, computed %08x", end, stored, sum)
	}
	kind := Kind(b[len(magic)+1])
	if !kind.valid() {
		return 0, nil, corruptf("unknown kind %d at offset %d", byte(kind), len(magic)+1)
	}
	return kind, b[start:end:end], nil
}

// checkHeader checks the magic and the version.
func checkHeader(b []byte) error {
	m := min(len(b), len(magic))
	if string(b[:m]) != magic[:m] {
		return corruptf("bad magic %q at offset 0, want %q", b[:m], magic)
	}
	if len(b) < headerLen {
		return corruptf("truncated header: %d bytes, need at least %d", len(b), headerLen)
	}
	if v := b[len(magic)]; v != FormatVersion && v != FormatVersionChannels {
		return fmt.Errorf("%w: found version %d at offset %d, this build supports versions %d and %d",
			ErrVersion, v, len(magic), FormatVersion, FormatVersionChannels)
	}
	return nil
}

// resealAt returns a sealed envelope b at another format version: the
// version byte changes, and with it the checksum.
func resealAt(b []byte, version byte) []byte {
	b[len(magic)] = version
	end := len(b) - checksumLen
	binary.BigEndian.PutUint32(b[end:], crc32.Checksum(b[:end], castagnoli))
	return b
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// unsealKind unseals b and checks that it holds a payload of kind want.
func unsealKind(b []byte, want Kind) ([]byte, error) {
	kind, p, err := Unseal(b)
	if err != nil {
		return nil, err
	}
	if kind != want {
		return nil, corruptf("snapshot holds %s state, want %s", kind, want)
	}
	return p, nil
}
