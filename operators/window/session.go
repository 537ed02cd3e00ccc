package window

import (
	"fmt"
	"time"
)

// SessionAssigner gives each record the window [ts, ts+gap); the operator
// merges windows that overlap or touch (see MergingSet), so a session
// ends once no record has come for gap.
type SessionAssigner struct {
	gap       int64 // ms
	eventTime bool
	err       error // the gap cannot be used (Validate)
}

// Session returns an event-time session assigner. The gap must be
// positive and whole milliseconds; Validate says why not, and
// operators.Window reports it when the pipeline is built, naming the
// operator.
func Session(gap time.Duration) SessionAssigner {
	return session(gap, true)
}

// SessionProcessing is Session in processing time.
func SessionProcessing(gap time.Duration) SessionAssigner {
	return session(gap, false)
}

// Validate returns nil, or why the assigner cannot be used: an error
// wrapping ErrInvalidAssigner, which says so for a zero SessionAssigner
// (gap 0), which no constructor makes.
func (a SessionAssigner) Validate() error {
	if a.err == nil && a.gap <= 0 {
		return zeroValue(ErrInvalidAssigner, "SessionAssigner", "Session or SessionProcessing")
	}
	return a.err
}

func session(gap time.Duration, eventTime bool) SessionAssigner {
	g, err := millis("gap", gap)
	if err == nil {
		err = positive("gap", g)
	}
	if err != nil {
		return SessionAssigner{eventTime: eventTime, err: err}
	}
	return SessionAssigner{gap: g, eventTime: eventTime}
}

// Assign appends [ts, ts+gap), the session of a single record.
func (a SessionAssigner) Assign(ts int64, dst []Window) []Window {
	return append(dst, span(ts, 0, a.gap))
}

// IsEventTime reports whether a was made by Session.
func (a SessionAssigner) IsEventTime() bool { return a.eventTime }

// Merging returns true.
func (a SessionAssigner) Merging() bool { return true }

// DefaultTrigger fires each session once at its end.
func (a SessionAssigner) DefaultTrigger() Trigger { return defaultTrigger(a.eventTime) }

// String describes a for logs and plans.
func (a SessionAssigner) String() string {
	return fmt.Sprintf("%s(gap=%dms)", kind("Session", a.eventTime), a.gap)
}

// DynamicSessionAssigner is a session assigner whose gap a function
// computes from each record, for example from a user's activity level.
type DynamicSessionAssigner[T any] struct {
	gap       func(elem T) time.Duration
	eventTime bool
}

// DynamicSession returns an event-time session assigner taking the gap of
// each record from gap, which must be a pure function: it is called once
// per record and may be shared by subtasks. A nil gap is reported by
// Validate, and by operators.Window when the pipeline is built.
func DynamicSession[T any](gap func(elem T) time.Duration) DynamicSessionAssigner[T] {
	return DynamicSessionAssigner[T]{gap: gap, eventTime: true}
}

// DynamicSessionProcessing is DynamicSession in processing time.
func DynamicSessionProcessing[T any](gap func(elem T) time.Duration) DynamicSessionAssigner[T] {
	return DynamicSessionAssigner[T]{gap: gap}
}

// Validate returns an error wrapping ErrInvalidAssigner if the gap
// function is nil.
func (a DynamicSessionAssigner[T]) Validate() error {
	if a.gap == nil {
		return fmt.Errorf("%w: gap function is nil", ErrInvalidAssigner)
	}
	return nil
}

// AssignElement appends [ts, ts+gap(elem)). It returns an error wrapping
// ErrInvalidAssigner, and dst unchanged, if the gap is not a positive
// whole number of milliseconds.
func (a DynamicSessionAssigner[T]) AssignElement(elem T, ts int64, dst []Window) ([]Window, error) {
	g, err := millis("dynamic gap", a.gap(elem))
	if err == nil {
		err = positive("dynamic gap", g)
	}
	if err != nil {
		return dst, fmt.Errorf("record at %d: %w", ts, err)
	}
	return append(dst, span(ts, 0, g)), nil
}

// IsEventTime reports whether a was made by DynamicSession.
func (a DynamicSessionAssigner[T]) IsEventTime() bool { return a.eventTime }

// Merging returns true.
func (a DynamicSessionAssigner[T]) Merging() bool { return true }

// DefaultTrigger fires each session once at its end.
func (a DynamicSessionAssigner[T]) DefaultTrigger() Trigger { return defaultTrigger(a.eventTime) }
