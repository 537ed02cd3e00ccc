package window

import (
	"fmt"
	"time"
)

// SlidingAssigner puts each record into the windows of a fixed size that
// start every slide; with slide < size they overlap, so a record belongs
// to about size/slide of them.
type SlidingAssigner struct {
	size, slide, offset int64 // ms; |offset| < slide
	eventTime           bool
	err                 error // the arguments cannot be used (Validate)
}

// Sliding returns an event-time assigner of windows of the given size
// starting at k·slide for every integer k (see WithOffset). Size and
// slide must be positive and whole milliseconds; Validate says why not,
// and operators.Window reports it when the pipeline is built, naming the
// operator.
//
// A record lies in exactly size/slide windows when slide divides size,
// otherwise in the floor or the ceiling of it. A slide larger than size
// is allowed (sampling, as in Flink): records between the windows then
// belong to none and the operator drops them.
func Sliding(size, slide time.Duration) SlidingAssigner {
	return sliding(size, slide, 0, true)
}

// SlidingProcessing is Sliding in processing time.
func SlidingProcessing(size, slide time.Duration) SlidingAssigner {
	return sliding(size, slide, 0, false)
}

// WithOffset returns a with its windows starting at offset + k·slide
// instead; |offset| must be below the slide, in whole milliseconds.
func (a SlidingAssigner) WithOffset(offset time.Duration) SlidingAssigner {
	if a.err != nil {
		return a
	}
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	return sliding(ms(a.size), ms(a.slide), offset, a.eventTime)
}

// Validate returns nil, or why the assigner cannot be used: an error
// wrapping ErrInvalidAssigner naming the argument, or saying that a is a
// zero SlidingAssigner, which no constructor makes.
func (a SlidingAssigner) Validate() error {
	if a.err == nil && (a.size <= 0 || a.slide <= 0) {
		return zeroValue(ErrInvalidAssigner, "SlidingAssigner", "Sliding or SlidingProcessing")
	}
	return a.err
}

func sliding(size, slide, offset time.Duration, eventTime bool) SlidingAssigner {
	a, err := slidingChecked(size, slide, offset, eventTime)
	if err != nil {
		return SlidingAssigner{eventTime: eventTime, err: err}
	}
	return a
}

func slidingChecked(size, slide, offset time.Duration, eventTime bool) (SlidingAssigner, error) {
	var ms [3]int64
	for i, d := range []struct {
		arg string
		d   time.Duration
	}{{"size", size}, {"slide", slide}, {"offset", offset}} {
		var err error
		if ms[i], err = millis(d.arg, d.d); err != nil {
			return SlidingAssigner{}, err
		}
	}
	return slidingMillis(ms[0], ms[1], ms[2], eventTime)
}

// slidingMillis validates in milliseconds (see tumblingMillis).
func slidingMillis(size, slide, offset int64, eventTime bool) (SlidingAssigner, error) {
	if err := positive("size", size); err != nil {
		return SlidingAssigner{}, err
	}
	if err := positive("slide", slide); err != nil {
		return SlidingAssigner{}, err
	}
	if err := offsetWithin("slide", slide, offset); err != nil {
		return SlidingAssigner{}, err
	}
	return SlidingAssigner{size: size, slide: slide, offset: offset, eventTime: eventTime}, nil
}

// Assign appends the windows holding ts, latest start first. The i-th
// starts back = r + i·slide before ts, where r is how far ts lies after
// the latest slide boundary; the loop stops before back reaches size,
// testing with a subtraction so that back + slide cannot overflow.
func (a SlidingAssigner) Assign(ts int64, dst []Window) []Window {
	for back := sinceStart(ts, a.offset, a.slide); back < a.size; back += a.slide {
		dst = append(dst, span(ts, back, a.size))
		if a.slide >= a.size-back {
			break
		}
	}
	return dst
}

// MaxWindows returns the most windows Assign appends for one record, to
// size the operator's buffer.
func (a SlidingAssigner) MaxWindows() int {
	return int((a.size-1)/a.slide + 1)
}

// IsEventTime reports whether a was made by Sliding.
func (a SlidingAssigner) IsEventTime() bool { return a.eventTime }

// Merging returns false: sliding windows overlap but never merge.
func (a SlidingAssigner) Merging() bool { return false }

// DefaultTrigger fires each window once at its end.
func (a SlidingAssigner) DefaultTrigger() Trigger { return defaultTrigger(a.eventTime) }

// String describes a for logs and plans.
func (a SlidingAssigner) String() string {
	return fmt.Sprintf("%s(size=%dms, slide=%dms, offset=%dms)",
		kind("Sliding", a.eventTime), a.size, a.slide, a.offset)
}
