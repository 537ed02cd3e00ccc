package persistence

import (
	"encoding/binary"
	"fmt"
	"math"
)

// appendBytes appends b prefixed with its length as a uvarint.
func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// decoder reads the primitives of our binary formats with bounds checks.
// It keeps the first error; reads after it return zero values, so a caller
// may check err once after a run of reads. Errors wrap ErrCorrupt and give
// the offset, relative to the start of b, where the bad field begins.
type decoder struct {
	b   []byte
	off int
	err error
	ctx string // what b is, for errors: "operator snapshot payload"
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		msg := fmt.Sprintf(format, args...)
		d.err = fmt.Errorf("%w: %s: %s at offset %d", ErrCorrupt, d.ctx, msg, d.off)
	}
}

// more reports whether unread bytes remain and no error occurred.
func (d *decoder) more() bool { return d.err == nil && d.off < len(d.b) }

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("truncated %s", field)
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("truncated or overlong %s", field)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(field string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("truncated or overlong %s", field)
		return 0
	}
	d.off += n
	return v
}

// count reads a uvarint count of items each at least minSize bytes long,
// and rejects counts the remaining bytes cannot hold, so that a corrupt
// count never makes a caller allocate much.
func (d *decoder) count(field string, minSize int) int {
	start := d.off
	v := d.uvarint(field)
	if d.err != nil {
		return 0
	}
	if left := len(d.b) - d.off; v > uint64(left/minSize) {
		d.off = start
		d.fail("%s %d exceeds the %d bytes left", field, v, left)
		return 0
	}
	return int(v)
}

// bytes reads a length-prefixed byte string; the result aliases d.b. It
// builds no string unless it fails: restores call it millions of times.
func (d *decoder) bytes(field string) []byte {
	if d.err != nil {
		return nil
	}
	v, w := binary.Uvarint(d.b[d.off:])
	if w <= 0 || v > uint64(len(d.b)-d.off-w) {
		d.count(field+" length", 1) // fails with the detail
		if d.err == nil {
			d.fail("%s length %d exceeds the bytes left", field, v)
		}
		return nil
	}
	d.off += w + int(v)
	return d.b[d.off-int(v) : d.off : d.off]
}

// int reads a uvarint that must lie in [lo, hi].
func (d *decoder) int(field string, lo, hi int) int {
	start := d.off
	v := d.uvarint(field)
	if d.err != nil {
		return 0
	}
	if v > math.MaxInt32 || int(v) < lo || int(v) > hi {
		d.off = start
		d.fail("%s %d out of range [%d, %d]", field, v, lo, hi)
		return 0
	}
	return int(v)
}

// done fails if bytes are left over.
func (d *decoder) done() {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d trailing bytes", len(d.b)-d.off)
	}
}
