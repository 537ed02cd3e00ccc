package window

import "fmt"

// GlobalAssigner puts every record of a key into the one GlobalWindow. It
// never fires by itself: give it a trigger, as count windows do.
type GlobalAssigner struct{}

// Global returns the global assigner.
func Global() GlobalAssigner { return GlobalAssigner{} }

// Assign appends GlobalWindow.
func (GlobalAssigner) Assign(_ int64, dst []Window) []Window {
	return append(dst, GlobalWindow)
}

// IsEventTime returns false, as in Flink: the global window has no event
// time end, so it is never late and has no cleanup timer.
func (GlobalAssigner) IsEventTime() bool { return false }

// Merging returns false.
func (GlobalAssigner) Merging() bool { return false }

// DefaultTrigger returns NeverTrigger: without a trigger of the user's,
// the global window fires only at end of input.
func (GlobalAssigner) DefaultTrigger() Trigger { return NeverTrigger{} }

// String describes the assigner for logs and plans.
func (GlobalAssigner) String() string { return "Global" }

// CountSpec is what a count window is made of: the global assigner, a
// count trigger and, for sliding count windows, an evictor. The window
// operator runs it like any other window with these parts.
type CountSpec struct {
	Assigner GlobalAssigner
	Trigger  Trigger
	// Evictor is nil for tumbling count windows.
	Evictor Evictor
}

// CountWindow returns tumbling count windows: every size records of a key
// are emitted together and then purged (Flink's countWindow(size)). It
// returns an error wrapping ErrInvalidTrigger unless size ≥ 1.
func CountWindow(size int64) (CountSpec, error) {
	t, err := NewCountTrigger(size)
	if err != nil {
		return CountSpec{}, fmt.Errorf("count window size: %w", err)
	}
	return CountSpec{Trigger: Purging(t)}, nil
}

// SlidingCountWindow returns sliding count windows: every slide records
// of a key the last size records are emitted (fewer at first), and older
// ones are evicted (Flink's countWindow(size, slide)). It returns an error
// wrapping ErrInvalidEvictor or ErrInvalidTrigger, naming the argument,
// unless size ≥ 1 and slide ≥ 1.
func SlidingCountWindow(size, slide int64) (CountSpec, error) {
	e, err := KeepLast(size)
	if err != nil {
		return CountSpec{}, fmt.Errorf("count window size: %w", err)
	}
	t, err := NewCountTrigger(slide)
	if err != nil {
		return CountSpec{}, fmt.Errorf("count window slide: %w", err)
	}
	return CountSpec{Trigger: t, Evictor: e}, nil
}
