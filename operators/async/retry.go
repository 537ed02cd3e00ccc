package async

import (
	"fmt"
	"math"
	"time"
)

// RetryStrategy decides whether a record's async call is made again.
//
// Next is called when attempt (counted from 1) of a record has ended, with
// the error it ended with (nil on success) and whether it succeeded with an
// empty result. It returns whether to make attempt+1 and after what delay.
// One strategy serves every record of an operator and may be shared by its
// parallel subtasks, so Next must be safe for concurrent use; it must not
// block, as the sequencer actor calls it.
type RetryStrategy interface {
	Next(attempt int, err error, empty bool) (delay time.Duration, retry bool)
}

// Backoff is the RetryStrategy of NoRetry, FixedDelay and
// ExponentialBackoff: the delay before attempt n+1 is
// min(initial × multiplier^(n-1), max), optionally jittered. It is
// immutable after construction.
type Backoff struct {
	maxAttempts  int // attempts in all, the first included
	initial, max time.Duration
	multiplier   float64
	jitter       func() float64
	onError      func(error) bool // nil: errors are not retried
	onEmpty      bool
	err          error // the arguments cannot be used (Validate)
}

var _ RetryStrategy = (*Backoff)(nil)

// Validate returns nil, or why the strategy cannot be used: an error
// wrapping ErrRetry that names the argument. An invalid strategy makes
// every call once; operators.AsyncMap reports it when the pipeline is
// built, naming the operator.
func (b *Backoff) Validate() error {
	if b == nil || b.err == nil && b.maxAttempts < 1 {
		return fmt.Errorf("%w: a zero Backoff (no settings); make one with NoRetry, FixedDelay or ExponentialBackoff", ErrRetry)
	}
	return b.err
}

// RetryOption refines FixedDelay and ExponentialBackoff.
type RetryOption func(*Backoff) error

// RetryOnError retries the errors for which retryable returns true. Without
// RetryOnError and RetryOnEmptyResult, every error is retried; with only
// RetryOnEmptyResult, no error is.
func RetryOnError(retryable func(error) bool) RetryOption {
	return func(b *Backoff) error {
		if retryable == nil {
			return fmt.Errorf("%w: RetryOnError: nil predicate", ErrRetry)
		}
		b.onError = retryable
		return nil
	}
}

// RetryOnEmptyResult retries successful calls that returned no result,
// for lookups that may not see a row yet.
func RetryOnEmptyResult() RetryOption {
	return func(b *Backoff) error {
		b.onEmpty = true
		return nil
	}
}

// WithJitter spreads retries of many records so they do not hit the
// service together: each delay d becomes d/2 + rand()×d/2, so it keeps at
// least half its backoff. rand returns a value in [0, 1) (values outside
// are clamped); it must be safe for concurrent use, as Next is. Pass a
// seeded source in tests to stay deterministic.
func WithJitter(rand func() float64) RetryOption {
	return func(b *Backoff) error {
		if rand == nil {
			return fmt.Errorf("%w: WithJitter: nil rand", ErrRetry)
		}
		b.jitter = rand
		return nil
	}
}

// NoRetry makes every call once.
func NoRetry() *Backoff { return &Backoff{maxAttempts: 1, multiplier: 1} }

// FixedDelay retries after the same delay each time, up to maxAttempts
// attempts in all, the first included (Flink's maxAttempts counts retries
// only: its 2 is our 3). Bad arguments (maxAttempts below 1, a negative
// delay, a nil option) are reported by Validate.
func FixedDelay(maxAttempts int, delay time.Duration, opts ...RetryOption) *Backoff {
	if delay < 0 {
		return invalid(fmt.Errorf("%w: delay %v must not be negative", ErrRetry, delay))
	}
	return newBackoff(maxAttempts, delay, delay, 1, opts)
}

// ExponentialBackoff retries after initial, then multiplies the delay by
// multiplier each time up to max, up to maxAttempts attempts in all. Bad
// arguments are reported by Validate.
func ExponentialBackoff(maxAttempts int, initial, max time.Duration, multiplier float64,
	opts ...RetryOption) *Backoff {
	switch {
	case initial <= 0:
		return invalid(fmt.Errorf("%w: initial delay %v must be positive", ErrRetry, initial))
	case max < initial:
		return invalid(fmt.Errorf("%w: max delay %v is below initial %v", ErrRetry, max, initial))
	case !(multiplier >= 1) || math.IsInf(multiplier, 1): // !(>=) also catches NaN
		return invalid(fmt.Errorf("%w: multiplier %v must be finite and at least 1", ErrRetry, multiplier))
	}
	return newBackoff(maxAttempts, initial, max, multiplier, opts)
}

// invalid is a strategy that cannot be used, for the reason err: it
// makes every call once, and Validate returns err.
func invalid(err error) *Backoff { return &Backoff{maxAttempts: 1, multiplier: 1, err: err} }

func newBackoff(maxAttempts int, initial, max time.Duration, multiplier float64, opts []RetryOption) *Backoff {
	b, err := checkedBackoff(maxAttempts, initial, max, multiplier, opts)
	if err != nil {
		return invalid(err)
	}
	return b
}

func checkedBackoff(maxAttempts int, initial, max time.Duration, multiplier float64,
	opts []RetryOption) (*Backoff, error) {
	if maxAttempts < 1 {
		return nil, fmt.Errorf("%w: maxAttempts %d must be at least 1", ErrRetry, maxAttempts)
	}
	b := &Backoff{maxAttempts: maxAttempts, initial: initial, max: max, multiplier: multiplier}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil option", ErrRetry)
		}
		if err := opt(b); err != nil {
			return nil, err
		}
	}
	if b.onError == nil && !b.onEmpty {
		b.onError = func(error) bool { return true }
	}
	return b, nil
}

// MaxAttempts returns the number of attempts in all, the first included.
func (b *Backoff) MaxAttempts() int { return b.maxAttempts }

// Next implements RetryStrategy.
func (b *Backoff) Next(attempt int, err error, empty bool) (time.Duration, bool) {
	if attempt < 1 || attempt >= b.maxAttempts || !b.wants(err, empty) {
		return 0, false
	}
	return b.delay(attempt), true
}

// wants reports whether the outcome of an attempt calls for another one.
func (b *Backoff) wants(err error, empty bool) bool {
	if err != nil {
		return b.onError != nil && b.onError(err)
	}
	return empty && b.onEmpty
}

// delay is the wait after the given attempt. It computes in float64 and
// compares with max before converting, so that large attempt numbers
// saturate at max instead of overflowing.
func (b *Backoff) delay(attempt int) time.Duration {
	d := float64(b.initial) * math.Pow(b.multiplier, float64(attempt-1))
	if d >= float64(b.max) {
		d = float64(b.max)
	}
	if b.jitter != nil {
		d = d/2 + min(max(b.jitter(), 0), 1)*d/2
	}
	if d >= float64(b.max) {
		return b.max
	}
	return time.Duration(d)
}
