package jetstream

import (
	"errors"
	"fmt"

	"github.com/troupe-dev/troupe/operators"
)

// Sentinel errors. Errors of this package wrap one of them (or
// operators.ErrDecode, operators.ErrRestore) and name the server, stream,
// subject or sequence concerned; nats.go's own errors are never returned
// as they are, only wrapped in text.
var (
	// ErrConfig is returned for a source, sink or lookup configuration
	// that cannot work, and for a malformed nats:// URL; the message names
	// the field or the part of the URL.
	ErrConfig = errors.New("jetstream: invalid configuration")
	// ErrConnect is returned when the servers cannot be reached, or when
	// the connection is closed for good while a source reads or a sink
	// commits.
	ErrConnect = errors.New("jetstream: cannot connect")
	// ErrStream is returned when a stream does not exist or cannot be
	// read: a source or sink then fails when it opens.
	ErrStream = errors.New("jetstream: stream unavailable")
	// ErrPublish is returned when the server does not store a message a
	// sink publishes (no acknowledgement in time, or a refusal); it names
	// the stream, the checkpoint and the message's ID.
	ErrPublish = errors.New("jetstream: publish failed")
	// ErrLateCommit is wrapped by the error of a restore that would
	// repeat a sink's commit after the stream's duplicate window may have
	// passed, under FailLateCommit; the message names the stream, the
	// checkpoint and the window.
	ErrLateCommit = errors.New("jetstream: commit repeated after the stream's duplicate window")
	// ErrUnavailable is returned by lookups when the service or bucket
	// does not answer (no responders, a timeout, a lost connection): the
	// error that retry strategies (async.RetryOnError) usually retry.
	ErrUnavailable = errors.New("jetstream: service unavailable")
	// ErrClosed is returned by a lookup used after its Client was closed.
	ErrClosed = errors.New("jetstream: client closed")
	// ErrSourcePanic is wrapped by the error that fails a source subtask
	// when its codec panics decoding a message; the message names the
	// stream and the sequence.
	ErrSourcePanic = errors.New("jetstream: codec panicked")
)

// DecodeError is the error of a message that the source's codec could
// not decode, under the FailOnDecodeError policy. errors.Is(err,
// operators.ErrDecode) is true for it.
type DecodeError struct {
	Stream   string
	Subject  string
	Sequence uint64 // the message's stream sequence
	Err      error  // the codec's error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%v: stream %s sequence %d (subject %s): %v", operators.ErrDecode, e.Stream, e.Sequence, e.Subject, e.Err)
}

// Unwrap returns operators.ErrDecode and the codec's error.
func (e *DecodeError) Unwrap() []error { return []error{operators.ErrDecode, e.Err} }
