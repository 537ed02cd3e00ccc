package window

import (
	"math"
	"testing"
)

func TestWindow_MaxTimestamp(t *testing.T) {
	for _, c := range []struct {
		w    Window
		want int64
	}{
		{Window{0, 10}, 9},
		{Window{-10, 0}, -1},
		{Window{5, 6}, 5},
		{Window{math.MaxInt64 - 10, math.MaxInt64}, math.MaxInt64}, // to the end of time
		{GlobalWindow, math.MaxInt64},
	} {
		if got := c.w.MaxTimestamp(); got != c.want {
			t.Errorf("%v.MaxTimestamp() = %d, want %d", c.w, got, c.want)
		}
	}
}

func TestWindow_Contains(t *testing.T) {
	w := Window{0, 10}
	for ts, want := range map[int64]bool{-1: false, 0: true, 9: true, 10: false} {
		if got := w.Contains(ts); got != want {
			t.Errorf("%v.Contains(%d) = %v, want %v", w, ts, got, want)
		}
	}
	if !GlobalWindow.Contains(math.MaxInt64) || !GlobalWindow.Contains(math.MinInt64) {
		t.Error("GlobalWindow misses an extreme timestamp")
	}
}

func TestWindow_Intersects(t *testing.T) {
	for _, c := range []struct {
		a, b Window
		want bool
	}{
		{Window{0, 10}, Window{5, 15}, true},
		{Window{0, 10}, Window{10, 20}, true}, // touching: one session
		{Window{0, 10}, Window{11, 20}, false},
		{Window{0, 10}, Window{2, 3}, true},
		{Window{-20, -10}, Window{-5, 0}, false},
	} {
		if got := c.a.Intersects(c.b); got != c.want {
			t.Errorf("%v.Intersects(%v) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := c.b.Intersects(c.a); got != c.want {
			t.Errorf("%v.Intersects(%v) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}

func TestWindow_Cover(t *testing.T) {
	if got, want := (Window{0, 10}).Cover(Window{20, 30}), (Window{0, 30}); got != want {
		t.Fatalf("Cover = %v, want %v", got, want)
	}
	if got, want := (Window{-5, 3}).Cover(Window{0, 1}), (Window{-5, 3}); got != want {
		t.Fatalf("Cover = %v, want %v", got, want)
	}
}

func TestWindow_String(t *testing.T) {
	if got := (Window{-10, 0}).String(); got != "[-10, 0)" {
		t.Fatalf("String() = %q", got)
	}
	if got := GlobalWindow.String(); got != "global" {
		t.Fatalf("GlobalWindow.String() = %q", got)
	}
}

func TestSaturation(t *testing.T) {
	if got := addSat(math.MaxInt64-1, 5); got != math.MaxInt64 {
		t.Errorf("addSat overflowed to %d", got)
	}
	if got := subSat(math.MinInt64+1, 5); got != math.MinInt64 {
		t.Errorf("subSat overflowed to %d", got)
	}
	if addSat(-3, 5) != 2 || subSat(3, 5) != -2 {
		t.Error("saturating arithmetic is wrong in range")
	}
}
