package window

import (
	"fmt"
	"time"
)

// TumblingAssigner puts each record into exactly one window of a fixed
// size; windows are aligned to the epoch shifted by an offset.
type TumblingAssigner struct {
	size, offset int64 // ms; |offset| < size
	eventTime    bool
	err          error // the arguments cannot be used (Validate)
}

// Tumbling returns an event-time assigner of windows of the given size,
// starting at k·size for every integer k (see WithOffset). The size must
// be positive and whole milliseconds; Validate says why not, and
// operators.Window reports it when the pipeline is built, naming the
// operator.
func Tumbling(size time.Duration) TumblingAssigner {
	return tumbling(size, 0, true)
}

// TumblingProcessing is Tumbling in processing time: a record goes into
// the window of the processing time at which it arrives.
func TumblingProcessing(size time.Duration) TumblingAssigner {
	return tumbling(size, 0, false)
}

// WithOffset returns a with its windows starting at offset + k·size
// instead (so offset shifts, for example, daily windows to a time zone:
// -8h for UTC+8). |offset| must be below the size, in whole milliseconds.
func (a TumblingAssigner) WithOffset(offset time.Duration) TumblingAssigner {
	if a.err != nil {
		return a
	}
	return tumbling(time.Duration(a.size)*time.Millisecond, offset, a.eventTime)
}

// Validate returns nil, or why the assigner cannot be used: an error
// wrapping ErrInvalidAssigner naming the argument, or saying that a is a
// zero TumblingAssigner (size 0), which no constructor makes.
func (a TumblingAssigner) Validate() error {
	if a.err == nil && a.size <= 0 {
		return zeroValue(ErrInvalidAssigner, "TumblingAssigner", "Tumbling or TumblingProcessing")
	}
	return a.err
}

func tumbling(size, offset time.Duration, eventTime bool) TumblingAssigner {
	a, err := tumblingChecked(size, offset, eventTime)
	if err != nil {
		return TumblingAssigner{eventTime: eventTime, err: err}
	}
	return a
}

func tumblingChecked(size, offset time.Duration, eventTime bool) (TumblingAssigner, error) {
	s, err := millis("size", size)
	if err != nil {
		return TumblingAssigner{}, err
	}
	o, err := millis("offset", offset)
	if err != nil {
		return TumblingAssigner{}, err
	}
	return tumblingMillis(s, o, eventTime)
}

// tumblingMillis validates in milliseconds; the fuzz test calls it to
// reach sizes beyond what a time.Duration can hold.
func tumblingMillis(size, offset int64, eventTime bool) (TumblingAssigner, error) {
	if err := positive("size", size); err != nil {
		return TumblingAssigner{}, err
	}
	if err := offsetWithin("size", size, offset); err != nil {
		return TumblingAssigner{}, err
	}
	return TumblingAssigner{size: size, offset: offset, eventTime: eventTime}, nil
}

// Assign appends the one window holding ts.
func (a TumblingAssigner) Assign(ts int64, dst []Window) []Window {
	return append(dst, span(ts, sinceStart(ts, a.offset, a.size), a.size))
}

// IsEventTime reports whether a was made by Tumbling.
func (a TumblingAssigner) IsEventTime() bool { return a.eventTime }

// Merging returns false: tumbling windows never merge.
func (a TumblingAssigner) Merging() bool { return false }

// DefaultTrigger fires each window once at its end.
func (a TumblingAssigner) DefaultTrigger() Trigger { return defaultTrigger(a.eventTime) }

// String describes a for logs and plans.
func (a TumblingAssigner) String() string {
	return fmt.Sprintf("%s(size=%dms, offset=%dms)", kind("Tumbling", a.eventTime), a.size, a.offset)
}

// kind names an assigner with its time domain.
func kind(name string, eventTime bool) string {
	if eventTime {
		return name + "EventTime"
	}
	return name + "ProcessingTime"
}
