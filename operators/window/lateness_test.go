package window

import (
	"errors"
	"math"
	"testing"
	"time"
)

// Checklist Windows 6: cleanup at the last timestamp + lateness, never
// overflowing.
func TestCleanupTime(t *testing.T) {
	for _, c := range []struct {
		w        Window
		lateness int64
		want     int64
	}{
		{Window{0, 10}, 0, 9},
		{Window{0, 10}, 5, 14},
		{Window{-10, 0}, 3, 2},
		{Window{0, 10}, -5, 9}, // negative counts as 0
		{Window{0, 10}, math.MaxInt64, NoCleanup},
		{Window{math.MaxInt64 - 10, math.MaxInt64 - 1}, 5, NoCleanup},
		{Window{math.MaxInt64 - 10, math.MaxInt64 - 1}, 1, math.MaxInt64 - 1},
		{Window{math.MaxInt64 - 10, math.MaxInt64}, 0, NoCleanup},
		{GlobalWindow, 0, NoCleanup},
	} {
		if got := CleanupTime(c.w, c.lateness); got != c.want {
			t.Errorf("CleanupTime(%v, %d) = %d, want %d", c.w, c.lateness, got, c.want)
		}
	}
}

func TestIsLate(t *testing.T) {
	for _, c := range []struct {
		w                   Window
		watermark, lateness int64
		want                bool
	}{
		{Window{0, 10}, 8, 0, false},
		{Window{0, 10}, 9, 0, true}, // cleanup time reached
		{Window{0, 10}, 13, 5, false},
		{Window{0, 10}, 14, 5, true},
		{Window{-10, 0}, -1, 0, true},
		{Window{0, 10}, math.MaxInt64 - 1, math.MaxInt64, false}, // huge lateness: never
		{GlobalWindow, math.MaxInt64, 0, false},
		{Window{5, math.MaxInt64}, math.MaxInt64, 0, false},
	} {
		if got := IsLate(c.w, c.watermark, c.lateness); got != c.want {
			t.Errorf("IsLate(%v, wm %d, lateness %d) = %v, want %v", c.w, c.watermark, c.lateness, got, c.want)
		}
	}
}

// Checklist Windows 6: a record is late when ts + lateness ≤ watermark.
func TestIsElementLate(t *testing.T) {
	for _, c := range []struct {
		ts, watermark, lateness int64
		want                    bool
	}{
		{5, 4, 0, false},
		{5, 5, 0, true},
		{5, 9, 5, false},
		{5, 10, 5, true},
		{-5, -5, 0, true},
		{5, 10, -1, true}, // negative counts as 0
		{5, math.MaxInt64 - 1, math.MaxInt64, false},
		{math.MinInt64, math.MinInt64, 0, true},
	} {
		if got := IsElementLate(c.ts, c.watermark, c.lateness); got != c.want {
			t.Errorf("IsElementLate(%d, wm %d, lateness %d) = %v, want %v", c.ts, c.watermark, c.lateness, got, c.want)
		}
	}
}

func TestLateness(t *testing.T) {
	if ms, err := Lateness(2 * time.Second); err != nil || ms != 2000 {
		t.Fatalf("Lateness(2s) = %d, %v", ms, err)
	}
	for _, d := range []time.Duration{-time.Millisecond, time.Microsecond} {
		if _, err := Lateness(d); !errors.Is(err, ErrInvalidLateness) {
			t.Errorf("Lateness(%v): err = %v", d, err)
		}
	}
}

// Checklist Windows 7 (the pure part): with a huge lateness nothing is
// late, in any window kind.
func TestHarness_hugeLateness(t *testing.T) {
	for _, a := range []Assigner{
		Tumbling(10 * time.Millisecond),
		Sliding(10*time.Millisecond, 5*time.Millisecond),
		Session(5 * time.Millisecond),
	} {
		h := newHarness(t, a, EventTimeTrigger{}, math.MaxInt64)
		h.element(1)
		h.advance(math.MaxInt64 - 1)
		h.element(2)
		h.wantLate()
	}
}

// Checklist Windows 7 (the pure part): past lateness, records of every
// window kind go to the late side output.
func TestHarness_pastLateness(t *testing.T) {
	for _, a := range []Assigner{
		Tumbling(10 * time.Millisecond),
		Sliding(10*time.Millisecond, 5*time.Millisecond),
		Session(5 * time.Millisecond),
	} {
		h := newHarness(t, a, EventTimeTrigger{}, 3)
		h.element(1)
		h.advance(100)
		h.element(2)
		h.element(96) // ts + lateness = 99: late, but its windows are not all
		h.wantLate(2)
	}
}
