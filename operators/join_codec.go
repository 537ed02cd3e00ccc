package operators

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
)

// joinBuffersOf returns the codec of an interval join's buffers, given
// its streams' codecs: the records waiting in state are encoded as the
// streams encode them, so that a record whose type needs its stream's
// codec (given with WithCodec) survives a restore as itself. With both
// streams on the default JSON codec the buffers stay one JSON value, as
// they always were, so that earlier snapshots restore.
func joinBuffersOf[A, B any](a Codec[A], b Codec[B]) Codec[joinBuffers[A, B]] {
	if isJSON(a) && isJSON(b) {
		return JSONCodec[joinBuffers[A, B]]{}
	}
	return joinBuffersCodec[A, B]{left: listCodec[A]{elem: a}, right: listCodec[B]{elem: b}}
}

// isJSON reports whether c is the default codec.
func isJSON[T any](c Codec[T]) bool {
	_, ok := c.(JSONCodec[T])
	return ok
}

// joinBuffersCodec writes a version byte, then each side (left, right):
// a uvarint count of timestamps and, per timestamp in increasing order,
// its zig-zag varint, a uvarint length and the records (listCodec).
type joinBuffersCodec[A, B any] struct {
	left  listCodec[A]
	right listCodec[B]
}

const joinBuffersVersion = 1

func (c joinBuffersCodec[A, B]) Append(dst []byte, bufs joinBuffers[A, B]) ([]byte, error) {
	dst = append(dst, joinBuffersVersion)
	dst, err := appendSide(dst, bufs.Left, c.left)
	if err != nil {
		return dst, fmt.Errorf("left buffer: %w", err)
	}
	if dst, err = appendSide(dst, bufs.Right, c.right); err != nil {
		return dst, fmt.Errorf("right buffer: %w", err)
	}
	return dst, nil
}

func (c joinBuffersCodec[A, B]) Decode(data []byte) (joinBuffers[A, B], error) {
	var bufs joinBuffers[A, B]
	if len(data) == 0 || data[0] != joinBuffersVersion {
		return bufs, fmt.Errorf("%w: interval join buffers: want version %d", ErrDecode, joinBuffersVersion)
	}
	var err error
	rest := data[1:]
	if bufs.Left, rest, err = decodeSide(rest, c.left); err != nil {
		return bufs, fmt.Errorf("left buffer: %w", err)
	}
	if bufs.Right, rest, err = decodeSide(rest, c.right); err != nil {
		return bufs, fmt.Errorf("right buffer: %w", err)
	}
	if len(rest) != 0 {
		return bufs, fmt.Errorf("%w: %d bytes after the interval join buffers", ErrDecode, len(rest))
	}
	return bufs, nil
}

func appendSide[T any](dst []byte, side map[int64][]T, c listCodec[T]) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(len(side)))
	var scratch []byte
	for _, ts := range slices.Sorted(maps.Keys(side)) { // sorted: one state, one encoding
		var err error
		if scratch, err = c.Append(scratch[:0], side[ts]); err != nil {
			return dst, fmt.Errorf("records at %d: %w", ts, err)
		}
		dst = binary.AppendVarint(dst, ts)
		dst = binary.AppendUvarint(dst, uint64(len(scratch)))
		dst = append(dst, scratch...)
	}
	return dst, nil
}

// decodeSide reads one side and returns the bytes after it.
func decodeSide[T any](data []byte, c listCodec[T]) (map[int64][]T, []byte, error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)) {
		return nil, nil, fmt.Errorf("%w: count of timestamps", ErrDecode)
	}
	data = data[k:]
	side := make(map[int64][]T, n)
	for i := range int(n) {
		ts, k1 := binary.Varint(data)
		if k1 <= 0 {
			return nil, nil, fmt.Errorf("%w: timestamp %d", ErrDecode, i)
		}
		l, k2 := binary.Uvarint(data[k1:])
		if k2 <= 0 || l > uint64(len(data)-k1-k2) {
			return nil, nil, fmt.Errorf("%w: records at %d: length", ErrDecode, ts)
		}
		start := k1 + k2
		recs, err := c.Decode(data[start : start+int(l)])
		if err != nil {
			return nil, nil, fmt.Errorf("records at %d: %w", ts, err)
		}
		side[ts] = recs
		data = data[start+int(l):]
	}
	return side, data, nil
}
