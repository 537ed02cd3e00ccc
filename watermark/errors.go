package watermark

import "errors"

// ErrInvalidStrategy is returned by Strategy.Validate; the wrapping error
// names the field.
var ErrInvalidStrategy = errors.New("watermark: invalid strategy")

// Wiring bugs. Constructors that return concrete types cannot return an
// error, so they panic with an error wrapping one of these, which a test
// can recover and check with errors.Is.
var (
	// ErrInvalidGenerator is the panic of BoundedOutOfOrderness and
	// ForBoundedOutOfOrderness with a negative delay, and of Punctuated
	// and ForPunctuated with a nil function.
	ErrInvalidGenerator = errors.New("watermark: invalid generator")
	// ErrInvalidValve is the panic of NewValve with fewer than one input,
	// and of Valve methods given an input out of range.
	ErrInvalidValve = errors.New("watermark: invalid valve input")
)
