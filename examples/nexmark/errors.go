package nexmark

import "errors"

var (
	// ErrEvent is wrapped by the errors of decoding and encoding an event
	// that is not a person, an auction or a bid.
	ErrEvent = errors.New("nexmark: bad event")
	// ErrConfig is wrapped by New and NewGenerator for a configuration
	// they cannot run; the error names the field and its value.
	ErrConfig = errors.New("nexmark: invalid config")
)
