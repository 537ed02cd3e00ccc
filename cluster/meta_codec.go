package cluster

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
)

// The binary format of a NodeMeta, version 1. Compact, because memberlist
// gives a node MaxMetaSize bytes, and canonical: one NodeMeta has exactly
// one encoding, so decoding and re-encoding gives the same bytes and two
// encodings can be compared as bytes.
//
//	magic       1 byte, 't'
//	version     1 byte, 1
//	flags       1 byte: bit 0 Leaving; the others must be 0
//	Name, ActorAddr, HTTPAddr, GossipAddr, Version
//	            each a string: uvarint length, then the bytes (UTF-8)
//	Slots       uvarint
//	StartTime   8 bytes, big-endian
//	Incarnation 8 bytes, big-endian
//	Extra       uvarint count, then key and value strings, keys ascending
//
// Uvarints are minimal. Nothing may follow. A later field that every node
// must understand needs version 2; anything else goes into Extra, which
// older nodes carry unchanged.
const (
	metaMagic   = 't'
	metaVersion = 1

	flagLeaving = 1 << 0
	knownFlags  = flagLeaving
)

var (
	_ interface{ MarshalBinary() ([]byte, error) } = NodeMeta{}
	_ interface{ UnmarshalBinary([]byte) error }   = (*NodeMeta)(nil)
)

// MarshalBinary validates m and encodes it in at most MaxMetaSize bytes.
// An error wrapping ErrMetaTooLarge names the field that is too long.
func (m NodeMeta) MarshalBinary() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var flags byte
	if m.Leaving {
		flags |= flagLeaving
	}
	b := make([]byte, 0, 128)
	b = append(b, metaMagic, metaVersion, flags)
	for _, s := range []string{m.Name, m.ActorAddr, m.HTTPAddr, m.GossipAddr, m.Version} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(m.Slots))
	b = binary.BigEndian.AppendUint64(b, uint64(m.StartTime))
	b = binary.BigEndian.AppendUint64(b, m.Incarnation)
	b = binary.AppendUvarint(b, uint64(len(m.Extra)))
	for _, k := range slices.Sorted(maps.Keys(m.Extra)) {
		b = appendString(appendString(b, k), m.Extra[k])
	}
	if len(b) > MaxMetaSize {
		f := m.longestField()
		return nil, fmt.Errorf("%w: %d bytes encoded, over memberlist's %d; the longest field is %s (%d bytes)",
			ErrMetaTooLarge, len(b), MaxMetaSize, f.name, len(f.value))
	}
	return b, nil
}

// longestField returns the string field to blame for an encoding that is
// too long; the first one of the greatest length.
func (m NodeMeta) longestField() field {
	var longest field
	for _, f := range m.stringFields() {
		if len(f.value) > len(longest.value) {
			longest = f
		}
	}
	return longest
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// UnmarshalBinary decodes data written by MarshalBinary and validates the
// result as Validate does. On error, m is left unchanged; the error wraps
// ErrMetaVersion for a format version this build does not know,
// ErrMetaTooLarge for more than MaxMetaSize bytes, and ErrMeta for
// anything else, naming the field where decoding failed.
func (m *NodeMeta) UnmarshalBinary(data []byte) error {
	if len(data) > MaxMetaSize {
		return fmt.Errorf("%w: %d bytes, over memberlist's %d", ErrMetaTooLarge, len(data), MaxMetaSize)
	}
	r := metaReader{b: data}
	switch magic := r.byte("magic"); {
	case r.err != nil:
		return r.err
	case magic != metaMagic:
		return fmt.Errorf("%w: magic byte 0x%02x, want 0x%02x", ErrMeta, magic, metaMagic)
	}
	switch v := r.byte("version"); {
	case r.err != nil:
		return r.err
	case v != metaVersion:
		return fmt.Errorf("%w: version %d, this build reads %d", ErrMetaVersion, v, metaVersion)
	}
	out, err := r.body()
	if err != nil {
		return err
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*m = out
	return nil
}

// metaReader decodes the fields after the version. The first error sticks
// and every later read returns zero values, so body reads straight through
// and checks once.
type metaReader struct {
	b   []byte
	err error
}

func (r *metaReader) body() (NodeMeta, error) {
	var out NodeMeta
	flags := r.byte("flags")
	if r.err == nil && flags&^knownFlags != 0 {
		return out, fmt.Errorf("%w: flags 0x%02x has unknown bits", ErrMeta, flags)
	}
	out.Leaving = flags&flagLeaving != 0
	out.Name = r.string("Name")
	out.ActorAddr = r.string("ActorAddr")
	out.HTTPAddr = r.string("HTTPAddr")
	out.GossipAddr = r.string("GossipAddr")
	out.Version = r.string("Version")
	slots := r.uvarint("Slots")
	if r.err == nil && slots > MaxSlots {
		return out, fmt.Errorf("%w: Slots %d is over %d", ErrMeta, slots, MaxSlots)
	}
	out.Slots = int(slots)
	out.StartTime = int64(r.uint64("StartTime"))
	out.Incarnation = r.uint64("Incarnation")
	out.Extra = r.extra()
	if r.err == nil && len(r.b) > 0 {
		return out, fmt.Errorf("%w: %d bytes after the last field", ErrMeta, len(r.b))
	}
	return out, r.err
}

// extra reads Extra: nil when empty, so that it round-trips.
func (r *metaReader) extra() map[string]string {
	n := r.uvarint("Extra count")
	// Each entry takes at least two bytes: a bound before allocating.
	if r.err == nil && n > uint64(len(r.b)/2) {
		r.fail("Extra count", "%d entries in %d bytes", n, len(r.b))
	}
	if r.err != nil || n == 0 {
		return nil
	}
	out := make(map[string]string, n)
	prev := ""
	for i := range n {
		k := r.string("Extra key")
		v := r.string(fmt.Sprintf("Extra[%q]", k))
		if r.err != nil {
			return nil
		}
		if i > 0 && k <= prev {
			r.fail("Extra key", "%q is not after %q: keys must be unique and ascending", k, prev)
			return nil
		}
		out[k], prev = v, k
	}
	return out
}

func (r *metaReader) fail(field, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s: %s", ErrMeta, field, fmt.Sprintf(format, args...))
	}
}

func (r *metaReader) take(field string, n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(field, "truncated: needs %d bytes, %d left", n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *metaReader) byte(field string) byte {
	if b := r.take(field, 1); b != nil {
		return b[0]
	}
	return 0
}

func (r *metaReader) uint64(field string) uint64 {
	if b := r.take(field, 8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// uvarint reads a minimal uvarint: another encoding of the same value
// would break canonicity.
func (r *metaReader) uvarint(field string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	switch {
	case n == 0:
		r.fail(field, "truncated varint")
		return 0
	case n < 0:
		r.fail(field, "varint overflows 64 bits")
		return 0
	case n != len(binary.AppendUvarint(nil, v)):
		r.fail(field, "varint is not minimal")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *metaReader) string(field string) string {
	n := r.uvarint(field + " length")
	if r.err == nil && n > MaxFieldLen {
		r.fail(field, "%d bytes, over %d", n, MaxFieldLen)
	}
	return string(r.take(field, n))
}
