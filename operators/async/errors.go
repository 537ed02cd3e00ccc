package async

import "errors"

// Queue errors.
var (
	// ErrFull is returned by Queue.Put and Queue.PutMarker when the queue
	// holds Capacity entries. The caller keeps the element and stops
	// consuming its input until a Pop frees a slot: this is backpressure,
	// nothing is dropped.
	ErrFull = errors.New("async: queue full")
	// ErrCapacity is returned by NewQueue for a capacity below 1 or too
	// large to index.
	ErrCapacity = errors.New("async: invalid capacity")
	// ErrMode is returned by NewQueue for a Mode that is not one of
	// Ordered, Unordered or KeyOrdered.
	ErrMode = errors.New("async: invalid mode")
	// ErrNilFailure is the error a record carries when Queue.Fail was given
	// a nil error, so that a failure can never pass for an empty result.
	ErrNilFailure = errors.New("async: record failed with a nil error")
)

// Configuration errors.
var (
	// ErrRetry is returned by Backoff.Validate (FixedDelay and
	// ExponentialBackoff) for invalid arguments or options; the wrapping
	// error names the argument.
	ErrRetry = errors.New("async: invalid retry strategy")
	// ErrConfig is returned by Config.Validate; the wrapping error names
	// the field.
	ErrConfig = errors.New("async: invalid config")
)
