package watermark

import (
	"fmt"
	"time"
)

// DefaultInterval is the default period of Generator.OnPeriodic, as in
// Flink: frequent enough for timely windows, rare enough to cost nothing.
const DefaultInterval = 200 * time.Millisecond

// Strategy configures the watermarks of a source: how each split makes
// them and how idleness is detected. The zero values of Interval and
// IdleTimeout are the defaults.
type Strategy struct {
	// NewGenerator returns a new generator for one source split; each
	// split has its own. Required.
	NewGenerator func() Generator
	// Interval is the processing time between OnPeriodic calls.
	// 0 means DefaultInterval; otherwise at least 1 ms.
	Interval time.Duration
	// IdleTimeout marks a split idle once it has had no records for this
	// long (see IdleDetector). 0 (the default) means never idle;
	// otherwise at least 1 ms.
	IdleTimeout time.Duration
}

// ForBoundedOutOfOrderness returns a Strategy of BoundedOutOfOrderness
// generators with the default interval and no idleness. It panics with
// ErrInvalidGenerator if delay is negative, at once rather than when the
// first split starts.
func ForBoundedOutOfOrderness(delay time.Duration) Strategy {
	BoundedOutOfOrderness(delay) // panics now on a bad delay
	return Strategy{NewGenerator: func() Generator { return BoundedOutOfOrderness(delay) }}
}

// ForMonotonous returns a Strategy of Monotonous generators with the
// default interval and no idleness.
func ForMonotonous() Strategy {
	return Strategy{NewGenerator: func() Generator { return Monotonous() }}
}

// ForPunctuated returns a Strategy of Punctuated generators calling fn,
// with no idleness. fn is shared by every split's generator, so it must
// not keep state of its own. It panics with ErrInvalidGenerator if fn is
// nil.
func ForPunctuated(fn func(ts int64) (wm int64, ok bool)) Strategy {
	Punctuated(fn) // panics now on a nil fn
	return Strategy{NewGenerator: func() Generator { return Punctuated(fn) }}
}

// Validate returns an error wrapping ErrInvalidStrategy, naming the
// field, if s cannot be used.
func (s Strategy) Validate() error {
	if s.NewGenerator == nil {
		return fmt.Errorf("%w: NewGenerator is nil", ErrInvalidStrategy)
	}
	if err := checkMillis("Interval", s.Interval); err != nil {
		return err
	}
	return checkMillis("IdleTimeout", s.IdleTimeout)
}

// checkMillis accepts 0 (the default) and durations of at least 1 ms:
// time here is in milliseconds, so a smaller one would silently become 0.
func checkMillis(field string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w: %s %v is negative", ErrInvalidStrategy, field, d)
	}
	if d > 0 && d < time.Millisecond {
		return fmt.Errorf("%w: %s %v is below 1ms", ErrInvalidStrategy, field, d)
	}
	return nil
}

// PeriodicInterval returns Interval, or DefaultInterval if it is 0.
func (s Strategy) PeriodicInterval() time.Duration {
	if s.Interval == 0 {
		return DefaultInterval
	}
	return s.Interval
}
