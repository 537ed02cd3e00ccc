package persistence

import (
	"context"
	"io"
)

// StateSource is a subtask's state on its way to a checkpoint store,
// produced as the store writes it, so that state larger than memory is
// never held whole (a BoltSnapshot is one; the runtime composes a
// subtask's from its operators'). The store calls Size, then Encode once,
// from one goroutine.
type StateSource interface {
	// Size returns the number of bytes Encode writes; it may have to
	// scan the state to know.
	Size(ctx context.Context) (int64, error)
	// Encode writes the state to w, exactly Size bytes, in small writes
	// (w should be buffered). It stops with an error wrapping ctx's cause
	// if ctx ends first.
	Encode(ctx context.Context, w io.Writer) error
}

// BytesSource is a state already encoded.
type BytesSource []byte

// Size returns len(b).
func (b BytesSource) Size(context.Context) (int64, error) { return int64(len(b)), nil }

// Encode writes b to w.
func (b BytesSource) Encode(_ context.Context, w io.Writer) error {
	_, err := w.Write(b)
	return err
}

var (
	_ StateSource = BytesSource(nil)
	_ StateSource = (*BoltSnapshot)(nil)
)

// sourceSize returns src's size, unless ctx has ended: a store writes
// nothing then.
func sourceSize(ctx context.Context, src StateSource) (int64, error) {
	if ctx.Err() != nil {
		return 0, context.Cause(ctx)
	}
	return src.Size(ctx)
}

// encodeSealed writes src to w sealed as kind, announcing size bytes.
func encodeSealed(ctx context.Context, w io.Writer, kind Kind, size int64, src StateSource) error {
	sw := newSealWriter(w, kind, size)
	if err := src.Encode(ctx, sw); err != nil {
		return err
	}
	return sw.Close()
}
