package window

import "errors"

// Sentinel errors. Each is wrapped with context naming the argument or the
// window at fault; test for them with errors.Is.
var (
	// ErrInvalidAssigner is returned by the assigners' Validate
	// (Tumbling, Sliding, Session, DynamicSession and their processing-time
	// variants) when a size, slide, offset or gap cannot be used, and by
	// DynamicSessionAssigner.AssignElement when the gap function returns
	// such a gap for an element.
	ErrInvalidAssigner = errors.New("window: invalid assigner")
	// ErrInvalidTrigger is returned by CountTrigger.Validate (and so by
	// the count windows') for a count below 1.
	ErrInvalidTrigger = errors.New("window: invalid trigger")
	// ErrInvalidEvictor is returned by the evictors' Validate: a count
	// below 1 (KeepLast, NewCountEvictor), a size that is not a positive
	// whole number of milliseconds (NewTimeEvictor), a nil delta function
	// (NewDeltaEvictor).
	ErrInvalidEvictor = errors.New("window: invalid evictor")
	// ErrInvalidLateness is returned by Lateness for a negative or
	// fractional-millisecond allowed lateness.
	ErrInvalidLateness = errors.New("window: invalid allowed lateness")
	// ErrInvalidWindow is returned by MergingSet.Add for a window holding
	// no timestamp (End ≤ Start, see Window) and by MergingSet.Restore for
	// a snapshot with such windows or with windows that intersect.
	ErrInvalidWindow = errors.New("window: invalid window")
)
