package operators

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Codec turns values of one type into bytes and back. Streams use a codec
// when records leave the process (remote channels) and in tests that check
// an operator does not mutate what it emitted.
type Codec[T any] interface {
	Append(dst []byte, v T) ([]byte, error)
	Decode(data []byte) (T, error)
}

// JSONCodec encodes values with encoding/json; it is the default codec.
// Integers, booleans and plain ASCII strings (the common keys and
// counters of state, encoded at every snapshot) are written and read
// without it, with the same bytes (jsonfast.go).
type JSONCodec[T any] struct{}

// Append appends v's JSON encoding to dst.
func (JSONCodec[T]) Append(dst []byte, v T) ([]byte, error) {
	if out, ok := appendJSONFast(dst, v); ok {
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// Decode parses a JSON value.
func (JSONCodec[T]) Decode(data []byte) (T, error) {
	if v, ok := decodeJSONFast[T](data); ok {
		return v, nil
	}
	var v T
	err := json.Unmarshal(data, &v)
	return v, err
}

// listCodec encodes a slice with its elements' codec: a uvarint count,
// then per element a uvarint length and the element's encoding.
type listCodec[T any] struct{ elem Codec[T] }

func (c listCodec[T]) Append(dst []byte, vs []T) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(len(vs)))
	var scratch []byte
	for i := range vs {
		var err error
		if scratch, err = c.elem.Append(scratch[:0], vs[i]); err != nil {
			return dst, fmt.Errorf("element %d: %w", i, err)
		}
		dst = binary.AppendUvarint(dst, uint64(len(scratch)))
		dst = append(dst, scratch...)
	}
	return dst, nil
}

func (c listCodec[T]) Decode(data []byte) ([]T, error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)) {
		return nil, fmt.Errorf("%w: list header", ErrDecode)
	}
	data = data[k:]
	vs := make([]T, 0, n)
	for i := range int(n) {
		l, k := binary.Uvarint(data)
		if k <= 0 || l > uint64(len(data)-k) {
			return nil, fmt.Errorf("%w: list element %d length", ErrDecode, i)
		}
		v, err := c.elem.Decode(data[k : k+int(l)])
		if err != nil {
			return nil, fmt.Errorf("%w: list element %d: %v", ErrDecode, i, err)
		}
		vs = append(vs, v)
		data = data[k+int(l):]
	}
	if len(data) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the list", ErrDecode, len(data))
	}
	return vs, nil
}

// batchCodec encodes whole batches of a stream, type erased, for the
// runtime's remote channels.
type batchCodec interface {
	Encode(dst []byte, batch any) ([]byte, error)
	// EncodeFrom encodes the batch's records from index from on, as
	// Encode encodes a batch of them alone.
	EncodeFrom(dst []byte, batch any, from int) ([]byte, error)
	Decode(data []byte) (any, error)
}

type typedBatchCodec[T any] struct{ st *streamOps[T] }

// Encode writes: uvarint count, then per element its timestamp as a
// zig-zag varint of the difference from the element before (the first's
// from 0), a uvarint length and the value's encoding. The differences
// make a batch's equal or close timestamps cost a byte or two each —
// NoTimestamp too, which alone takes ten; they wrap around in int64
// arithmetic, so that any two timestamps have one.
func (c typedBatchCodec[T]) Encode(dst []byte, batch any) ([]byte, error) {
	return c.EncodeFrom(dst, batch, 0)
}

// EncodeFrom encodes the elements from index from on, as Encode does a
// batch of them alone.
func (c typedBatchCodec[T]) EncodeFrom(dst []byte, batch any, from int) ([]byte, error) {
	elems := batch.(*Batch[T]).Elems[from:]
	dst = binary.AppendUvarint(dst, uint64(len(elems)))
	var scratch []byte
	prev := int64(0)
	for i := range elems {
		var err error
		scratch, err = c.st.codec_.Append(scratch[:0], elems[i].Value)
		if err != nil {
			return dst, fmt.Errorf("operators: encode element %d: %w", from+i, err)
		}
		ts := elems[i].Timestamp
		dst = binary.AppendVarint(dst, ts-prev)
		prev = ts
		dst = binary.AppendUvarint(dst, uint64(len(scratch)))
		dst = append(dst, scratch...)
	}
	return dst, nil
}

// Decode reverses Encode; malformed input gives an error naming the element.
func (c typedBatchCodec[T]) Decode(data []byte) (any, error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)) {
		return nil, fmt.Errorf("%w: batch header", ErrDecode)
	}
	data = data[k:]
	b := c.st.pool.get()
	ts := int64(0)
	for i := range int(n) {
		delta, k1 := binary.Varint(data)
		if k1 <= 0 {
			return nil, fmt.Errorf("%w: element %d timestamp", ErrDecode, i)
		}
		ts += delta
		l, k2 := binary.Uvarint(data[k1:])
		if k2 <= 0 || l > uint64(len(data)-k1-k2) {
			return nil, fmt.Errorf("%w: element %d length", ErrDecode, i)
		}
		start := k1 + k2
		v, err := c.st.codec_.Decode(data[start : start+int(l)])
		if err != nil {
			return nil, fmt.Errorf("%w: element %d: %v", ErrDecode, i, err)
		}
		b.Elems = append(b.Elems, Element[T]{Value: v, Timestamp: ts})
		data = data[start+int(l):]
	}
	if len(data) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrDecode, len(data))
	}
	return b, nil
}

// WithCodec makes s use c wherever its records are encoded: on remote
// channels and in test harnesses. The default is JSONCodec.
func WithCodec[T any](s Stream[T], c Codec[T]) Stream[T] {
	if c == nil {
		s.n.p.fail(s.n, fmt.Errorf("%w: codec", ErrNilFunc))
		return s
	}
	s.ops().codec_ = c
	return s
}

// CodecOf returns the codec of s's records.
func CodecOf[T any](s Stream[T]) Codec[T] { return s.ops().codec_ }

// EncodeBatch appends batch — a batch of the edge's records, as a Shipper
// received it for one of the edge's channels — to dst, encoded with the
// stream's codec. Runtimes use it for channels between processes; batch
// stays the caller's (ReleaseBatch returns it to its pool).
func (e *VertexEdge) EncodeBatch(dst []byte, batch any) ([]byte, error) {
	return e.e.stream().codec().Encode(dst, batch)
}

// EncodeBatchFrom is EncodeBatch of the batch's records from index from
// on: the rest of a batch a chain stopped in (Chain.HeldInput),
// as DecodeBatch reads a batch of them alone.
func (e *VertexEdge) EncodeBatchFrom(dst []byte, batch any, from int) ([]byte, error) {
	return e.e.stream().codec().EncodeFrom(dst, batch, from)
}

// DecodeBatch reverses EncodeBatch: the batch it returns is what the
// receiving chain consumes (Chain.Consume), as if it came from a local
// sender. Malformed data gives an error wrapping ErrDecode.
func (e *VertexEdge) DecodeBatch(data []byte) (any, error) {
	return e.e.stream().codec().Decode(data)
}

// CheckLossless reports, as an error wrapping ErrLossyJSON, that the
// edge's records would not survive its codec: it is the default JSON
// codec and JSON would not round-trip their type (an unexported field).
// A local channel never encodes its records, so nothing else asks; a
// runtime that stores them — an unaligned checkpoint's in-flight data —
// must, or its restore would replay zero values in their place.
func (e *VertexEdge) CheckLossless() error {
	if err := e.e.stream().lossless(); err != nil {
		return fmt.Errorf("the records from %q to %q: %w", e.From.Name, e.To.Name, err)
	}
	return nil
}

// ReleaseBatch returns a batch of the edge's records that the runtime no
// longer needs (it was encoded and sent) to its pool for reuse.
func (e *VertexEdge) ReleaseBatch(batch any) { e.e.stream().release(batch) }
