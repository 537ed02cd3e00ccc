package window

import (
	"fmt"
	"time"
)

// Assigner puts a record into windows by its timestamp alone. The
// assigners of this package are immutable values, safe to share between
// subtasks.
type Assigner interface {
	// Assign appends to dst the windows holding the record with timestamp
	// ts (event time, or the processing time at arrival for a
	// processing-time assigner) and returns the extended slice. It
	// allocates only when dst lacks capacity, so the operator can reuse
	// one buffer for every record.
	Assign(ts int64, dst []Window) []Window
	// IsEventTime reports whether the windows are in event time (they fire
	// on watermarks and have lateness) rather than processing time.
	IsEventTime() bool
	// Merging reports whether windows merge (sessions): the operator must
	// then keep them in a MergingSet per key.
	Merging() bool
	// DefaultTrigger returns the trigger used when the user sets none.
	DefaultTrigger() Trigger
}

// ElementAssigner puts a record into windows by its value and timestamp;
// it is what the window operator calls. DynamicSessionAssigner implements
// it directly, every Assigner through ByTimestamp.
type ElementAssigner[T any] interface {
	// AssignElement appends the windows of elem to dst like
	// Assigner.Assign. An error (wrapping ErrInvalidAssigner) means elem
	// cannot be assigned, such as a dynamic gap that is not positive; it is
	// a bug of the user's function, so the operator fails the task.
	AssignElement(elem T, ts int64, dst []Window) ([]Window, error)
	IsEventTime() bool
	Merging() bool
	DefaultTrigger() Trigger
}

// ByTimestamp adapts a to an ElementAssigner that ignores the element.
func ByTimestamp[T any](a Assigner) ElementAssigner[T] {
	return byTimestamp[T]{a}
}

type byTimestamp[T any] struct{ Assigner }

// Validate returns what the adapted assigner's Validate returns, so that
// the operator checks an assigner adapted by hand as it checks one given
// directly.
func (b byTimestamp[T]) Validate() error { return validate(b.Assigner) }

func (b byTimestamp[T]) AssignElement(_ T, ts int64, dst []Window) ([]Window, error) {
	return b.Assign(ts, dst), nil
}

var (
	_ Assigner                = TumblingAssigner{}
	_ Assigner                = SlidingAssigner{}
	_ Assigner                = SessionAssigner{}
	_ Assigner                = GlobalAssigner{}
	_ ElementAssigner[string] = DynamicSessionAssigner[string]{}
	_ ElementAssigner[string] = byTimestamp[string]{}
)

// defaultTrigger is the default trigger of time windows: each fires once
// at its end in its own time domain.
func defaultTrigger(eventTime bool) Trigger {
	if eventTime {
		return EventTimeTrigger{}
	}
	return ProcessingTimeTrigger{}
}

// millis converts a duration of the API to the milliseconds used inside.
// It refuses sub-millisecond parts rather than truncate them: a size of
// 1500µs silently becoming 1ms would shift every window.
func millis(arg string, d time.Duration) (int64, error) {
	if d%time.Millisecond != 0 {
		return 0, fmt.Errorf("%w: %s %v is not a whole number of milliseconds", ErrInvalidAssigner, arg, d)
	}
	return d.Milliseconds(), nil
}

// positive checks a size, slide or gap in milliseconds.
func positive(arg string, ms int64) error {
	if ms <= 0 {
		return fmt.Errorf("%w: %s %dms is not positive", ErrInvalidAssigner, arg, ms)
	}
	return nil
}

// offsetWithin checks |offset| < period: only offset mod period matters,
// so a larger one is almost certainly a mistake (as Flink also rules).
func offsetWithin(period string, periodMs, offsetMs int64) error {
	if offsetMs <= -periodMs || offsetMs >= periodMs {
		return fmt.Errorf("%w: |offset| %dms is not below %s %dms", ErrInvalidAssigner, offsetMs, period, periodMs)
	}
	return nil
}

// modFloor returns a mod m in [0, m) for m > 0, also for negative a (Go's
// % keeps the sign of a).
func modFloor(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// sinceStart returns how far ts lies after the start of its period:
// (ts - offset) mod period, in [0, period). It is the textbook
// ((ts - offset) mod p + p) mod p, reduced term by term so that no
// intermediate value can overflow, whatever ts and however large p.
func sinceStart(ts, offset, period int64) int64 {
	r := modFloor(ts, period) - modFloor(offset, period) // in (-period, period)
	if r < 0 {
		r += period
	}
	return r
}

// span returns the window of length size that starts back ms before ts
// (0 ≤ back < size), saturated at the ends of the int64 range.
func span(ts, back, size int64) Window {
	return Window{Start: subSat(ts, back), End: addSat(ts, size-back)}
}
