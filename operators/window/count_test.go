package window

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func countHarness(t *testing.T, spec CountSpec) *harness {
	h := newHarness(t, spec.Assigner, spec.Trigger, 0)
	h.evictor = spec.Evictor
	return h
}

// Checklist Windows 3: size only fires and purges every N.
func TestCountWindow(t *testing.T) {
	h := countHarness(t, CountWindow(3))
	for ts := range int64(8) {
		h.element(ts)
	}
	h.wantFired("global:[0 1 2]", "global:[3 4 5]")
	if got := h.contents[GlobalWindow]; !slices.Equal(got, []int64{6, 7}) {
		t.Fatalf("pending %v, want [6 7]", got)
	}
}

// Checklist Windows 3: size and slide keep the last N and fire every
// slide; the state stays bounded.
func TestSlidingCountWindow(t *testing.T) {
	h := countHarness(t, SlidingCountWindow(3, 2))
	for ts := range int64(8) {
		h.element(ts)
	}
	h.wantFired("global:[0 1]", "global:[1 2 3]", "global:[3 4 5]", "global:[5 6 7]")
	if n := len(h.contents[GlobalWindow]); n > 3 {
		t.Fatalf("state holds %d records, want at most 3", n)
	}
}

func TestCountWindow_invalid(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"size 0", CountWindow(0).Validate(), ErrInvalidTrigger},
		{"sliding size 0", SlidingCountWindow(0, 1).Validate(), ErrInvalidEvictor},
		{"sliding slide 0", SlidingCountWindow(1, 0).Validate(), ErrInvalidTrigger},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, c.err, c.want)
		}
	}
}

func TestEvict(t *testing.T) {
	e := KeepLast(2)
	for _, c := range []struct{ in, want []int64 }{
		{nil, nil},
		{[]int64{1}, []int64{1}},
		{[]int64{1, 2}, []int64{1, 2}},
		{[]int64{1, 2, 3, 4}, []int64{3, 4}},
	} {
		if got := evictTimestamps(e, c.in, GlobalWindow); !slices.Equal(got, c.want) {
			t.Errorf("Evict(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if err := KeepLast(0).Validate(); !errors.Is(err, ErrInvalidEvictor) {
		t.Fatalf("KeepLast(0): err = %v", err)
	}
}

// Checklist Windows 2: session windows with a count trigger; merging
// adds up the counts of the sessions merged.
func TestHarness_sessionCountTrigger(t *testing.T) {
	h := newHarness(t, Session(5*time.Millisecond), NewCountTrigger(3), 0)
	h.element(0)
	h.element(20)
	h.element(3) // [0, 8): count 2
	h.wantFired()
	h.element(14) // [14, 19) merges with [20, 25)? no: 19 < 20
	h.element(8)  // [8, 13) touches [0, 8): count 3
	h.wantFired("[0, 13):[0 3 8]")
	h.element(12) // bridges [0, 13), [12, 17) and [14, 19): counts 0+1 = 1, then 2
	h.wantFired()
	h.element(19) // joins [20, 25): 2+1 = 3 by merge, 4 with itself
	h.wantFired("[0, 25):[0 3 8 14 12 20 19]")
}
