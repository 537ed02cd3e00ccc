package window

import (
	"fmt"
	"math"
)

// Window is the half-open time interval [Start, End) in epoch
// milliseconds: it holds the timestamps Start ≤ ts < End, and its last
// timestamp is End-1 (see MaxTimestamp).
//
// End == math.MaxInt64 is special: it means "to the end of time". Only
// GlobalWindow and time windows whose true end would overflow int64 have
// it, and such a window also holds math.MaxInt64. Start == math.MinInt64
// likewise stands for any earlier start.
//
// Window is a comparable value type: use it as a map key, compare with ==.
type Window struct {
	Start int64
	End   int64
}

// GlobalWindow is the single window of the Global assigner (and of count
// windows): it holds every timestamp and ends only at the end of input.
// Treat it as a constant.
var GlobalWindow = Window{Start: math.MinInt64, End: math.MaxInt64}

// MaxTimestamp returns the last timestamp in w, End-1, or math.MaxInt64
// if w extends to the end of time. An event-time window fires when the
// watermark reaches it.
func (w Window) MaxTimestamp() int64 {
	if w.End == math.MaxInt64 {
		return math.MaxInt64
	}
	return w.End - 1
}

// Contains reports whether ts lies in w.
func (w Window) Contains(ts int64) bool {
	return w.Start <= ts && ts <= w.MaxTimestamp()
}

// Intersects reports whether w and o overlap or touch, that is whether
// their union is a single interval. Touching counts (as in Flink's
// TimeWindow.intersects) because it is the merge rule of sessions: two
// records exactly one gap apart belong to the same session.
func (w Window) Intersects(o Window) bool {
	return w.Start <= o.End && o.Start <= w.End
}

// Cover returns the smallest window holding both w and o.
func (w Window) Cover(o Window) Window {
	return Window{Start: min(w.Start, o.Start), End: max(w.End, o.End)}
}

// IsGlobal reports whether w is GlobalWindow.
func (w Window) IsGlobal() bool { return w == GlobalWindow }

// String formats w as "[start, end)", or "global" for GlobalWindow.
func (w Window) String() string {
	if w.IsGlobal() {
		return "global"
	}
	return fmt.Sprintf("[%d, %d)", w.Start, w.End)
}

// valid reports whether w holds at least one timestamp. A window
// [math.MaxInt64, math.MaxInt64) is not empty: it reaches the end of time
// and holds math.MaxInt64 (a record there gets it from every assigner).
func (w Window) valid() bool { return w.Start < w.End || w.End == math.MaxInt64 }

// addSat returns a+b for b ≥ 0, saturated at math.MaxInt64 instead of
// wrapping: times near the end of the int64 range must not turn into
// times near its start.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// subSat returns a-b for b ≥ 0, saturated at math.MinInt64.
func subSat(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}
