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
}

// Sliding returns an event-time assigner of windows of the given size
// starting at offset + k·slide for every integer k. It returns an error
// wrapping ErrInvalidAssigner, naming the argument, unless size and slide
// are positive, |offset| < slide and all are whole milliseconds.
//
// A record lies in exactly size/slide windows when slide divides size,
// otherwise in the floor or the ceiling of it. A slide larger than size
// is allowed (sampling, as in Flink): records between the windows then
// belong to none and the operator drops them.
func Sliding(size, slide, offset time.Duration) (SlidingAssigner, error) {
	return sliding(size, slide, offset, true)
}

// SlidingProcessing is Sliding in processing time.
func SlidingProcessing(size, slide, offset time.Duration) (SlidingAssigner, error) {
	return sliding(size, slide, offset, false)
}

func sliding(size, slide, offset time.Duration, eventTime bool) (SlidingAssigner, error) {
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
