package window

import "fmt"

// GlobalAssigner puts every record of a key into the one GlobalWindow.
// Made by Global it never fires by itself, as Flink's
// GlobalWindows.create(): give it a trigger, as count windows do. Made by
// GlobalWithEndOfStreamTrigger it fires once, at the end of input.
type GlobalAssigner struct {
	endOfStream bool
}

// Global returns the global assigner, whose default trigger never fires.
func Global() GlobalAssigner { return GlobalAssigner{} }

// GlobalWithEndOfStreamTrigger returns the global assigner with
// EndOfStreamTrigger as its default trigger: each key's window fires
// once, with everything it holds, at the end of input (Flink's
// GlobalWindows.createWithEndOfStreamTrigger()).
func GlobalWithEndOfStreamTrigger() GlobalAssigner { return GlobalAssigner{endOfStream: true} }

// Assign appends GlobalWindow.
func (GlobalAssigner) Assign(_ int64, dst []Window) []Window {
	return append(dst, GlobalWindow)
}

// IsEventTime returns false, as in Flink: the global window has no event
// time end, so it is never late and has no cleanup timer.
func (GlobalAssigner) IsEventTime() bool { return false }

// Merging returns false.
func (GlobalAssigner) Merging() bool { return false }

// DefaultTrigger returns NeverTrigger, or EndOfStreamTrigger for
// GlobalWithEndOfStreamTrigger.
func (g GlobalAssigner) DefaultTrigger() Trigger {
	if g.endOfStream {
		return EndOfStreamTrigger{}
	}
	return NeverTrigger{}
}

// String describes the assigner for logs and plans.
func (g GlobalAssigner) String() string {
	if g.endOfStream {
		return "GlobalWithEndOfStreamTrigger"
	}
	return "Global"
}

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
// are emitted together and then purged (Flink's countWindow(size)). As in
// Flink, a group still short of size at the end of input is not emitted
// (operators.WithFireAtEndOfInput emits it). A size below 1 makes its
// trigger invalid: Validate, and operators.Window when the pipeline is
// built, report it.
func CountWindow(size int64) CountSpec {
	return CountSpec{Trigger: Purging(NewCountTrigger(size))}
}

// SlidingCountWindow returns sliding count windows: every slide records
// of a key the last size records are emitted (fewer at first), and older
// ones are evicted (Flink's countWindow(size, slide)). A size or slide
// below 1 is reported by Validate, and by operators.Window when the
// pipeline is built.
func SlidingCountWindow(size, slide int64) CountSpec {
	return CountSpec{Trigger: NewCountTrigger(slide), Evictor: KeepLast(size)}
}

// Validate returns nil, or why the spec's trigger or evictor cannot be
// used; a zero CountSpec has no trigger.
func (s CountSpec) Validate() error {
	if s.Trigger == nil {
		return zeroValue(ErrInvalidTrigger, "CountSpec", "CountWindow or SlidingCountWindow")
	}
	if err := validate(s.Trigger); err != nil {
		return err
	}
	return validate(s.Evictor)
}

// zeroValue is Validate's error for the zero value of typ, which the
// constructors (makers) never return: its settings are all zero (a
// window of size 0), and using it would fail or never fire.
func zeroValue(sentinel error, typ, makers string) error {
	return fmt.Errorf("%w: a zero %s (no settings); make one with %s", sentinel, typ, makers)
}

// validate returns what v's Validate method returns, nil without one.
func validate(v any) error {
	if c, ok := v.(interface{ Validate() error }); ok {
		return c.Validate()
	}
	return nil
}
