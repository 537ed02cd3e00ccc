package persistence

import (
	"context"
	"fmt"
	"io"
)

// The encoding of checkpoints for stores outside this package (the NATS
// object store): they keep the bytes that these functions write and
// read, so that every store checks states and metadata the same way.

// EncodeState writes src, whose Size is size, to w as a checkpoint store
// keeps a subtask's state: sealed (KindSubtask, checksummed), streamed
// from src without holding it whole; SealedStateLen(size) bytes. It
// stops with ctx's cause if ctx ends first.
func EncodeState(ctx context.Context, w io.Writer, size int64, src StateSource) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return encodeSealed(ctx, w, KindSubtask, size, src)
}

// SealedStateLen returns how many bytes EncodeState writes for a state of
// size bytes.
func SealedStateLen(size int64) int64 { return sealedLen(size) }

// NewCheckpoint returns the complete checkpoint at path whose metadata is
// meta, as Metadata.MarshalBinary encoded it; its ReadState gets a state
// from fetch as the store keeps it (as EncodeState wrote it) and checks
// it. The error names path and wraps ErrCorrupt or ErrVersion when meta
// is damaged.
func NewCheckpoint(path string, meta []byte, fetch func(handle string) ([]byte, error)) (*Checkpoint, error) {
	m, err := UnmarshalMetadata(meta)
	if err != nil {
		return nil, fmt.Errorf("persistence: metadata of %s: %w", path, err)
	}
	return &Checkpoint{Path: path, Meta: m, read: func(handle string) ([]byte, error) {
		b, err := fetch(handle)
		if err != nil {
			return nil, err
		}
		p, err := unsealKind(b, KindSubtask)
		if err != nil {
			return nil, fmt.Errorf("persistence: state %s of %s: %w", handle, path, err)
		}
		return p, nil
	}}, nil
}
