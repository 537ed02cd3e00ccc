package async

import (
	"fmt"
	"time"
)

// DefaultCapacity is Flink's default capacity of an async operator.
const DefaultCapacity = 100

// Config configures an async I/O operator. Start from DefaultConfig.
type Config struct {
	// Mode is the order results leave in. Default Ordered.
	Mode Mode
	// Capacity is the most entries in the queue, records in flight and the
	// markers between them. At capacity the operator stops consuming
	// input (backpressure). Default 100.
	Capacity int
	// Timeout bounds each record's async call, retries included (see
	// Deadline); on timeout the timeout handler runs, by default failing
	// the subtask. 0 means no timeout. Flink makes every caller pass a
	// timeout but also reads a value ≤ 0 as none; we default to none
	// because no single value suits every service, and a too-short
	// default would fail healthy jobs. A job calling a service that can
	// hang should set one: without it a hung call holds its slot, and in
	// Ordered mode the whole queue, until the job is cancelled.
	// Default 0.
	Timeout time.Duration
	// Retry decides whether a failed or empty call is made again. It must
	// not be nil. Default NoRetry().
	Retry RetryStrategy
}

// DefaultConfig returns the defaults: ordered, capacity 100, no timeout,
// no retry.
func DefaultConfig() Config {
	return Config{Mode: Ordered, Capacity: DefaultCapacity, Retry: NoRetry()}
}

// Validate returns an error wrapping ErrConfig and naming the first
// invalid field, or nil.
func (c Config) Validate() error {
	switch {
	case !c.Mode.valid():
		return fmt.Errorf("%w: Mode %v is not Ordered, Unordered or KeyOrdered", ErrConfig, c.Mode)
	case c.Capacity < 1 || c.Capacity > maxCapacity:
		return fmt.Errorf("%w: Capacity %d not in [1, %d]", ErrConfig, c.Capacity, maxCapacity)
	case c.Timeout < 0:
		return fmt.Errorf("%w: Timeout %v must not be negative (0 means none)", ErrConfig, c.Timeout)
	case c.Retry == nil:
		return fmt.Errorf("%w: Retry is nil (use NoRetry())", ErrConfig)
	}
	if v, ok := c.Retry.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("%w: Retry: %w", ErrConfig, err)
		}
	}
	return nil
}
