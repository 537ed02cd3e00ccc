package watermark

import (
	"fmt"
	"math"
	"time"
)

const (
	// MinWatermark means nothing is known about event time yet: the
	// watermark of every input before its first one.
	MinWatermark int64 = math.MinInt64
	// MaxWatermark marks the end of input: event time is +∞, so every
	// window and event-time timer fires.
	MaxWatermark int64 = math.MaxInt64
)

// Generator turns the event timestamps of one source split into
// watermarks. The runtime calls OnEvent for each record that has a
// timestamp and OnPeriodic every Strategy.Interval of processing time, and
// forwards wm when emit is true. When emit is false, wm is the last
// watermark emitted (MinWatermark before the first).
//
// A Generator never emits a watermark that is not above the last one it
// emitted. It is not safe for concurrent use: the source subtask that owns
// the split calls it from its own goroutine.
type Generator interface {
	OnEvent(ts int64) (wm int64, emit bool)
	OnPeriodic() (wm int64, emit bool)
}

var (
	_ Generator = (*BoundedGenerator)(nil)
	_ Generator = (*PunctuatedGenerator)(nil)
)

// monotone remembers the last watermark emitted, so that generators only
// ever emit increasing ones: equal ones would be ignored downstream and
// cost a message per period per split.
type monotone struct{ last int64 }

func (m *monotone) advance(wm int64) (int64, bool) {
	if wm <= m.last {
		return m.last, false
	}
	m.last = wm
	return wm, true
}

// BoundedGenerator emits, periodically, the highest timestamp seen minus
// a fixed delay minus 1 ms: it expects records at most delay out of order.
type BoundedGenerator struct {
	monotone
	delay int64 // milliseconds
	maxTs int64 // MinInt64 until the first event
}

// BoundedOutOfOrderness returns a generator for records at most delay out
// of order: its watermark is max timestamp − delay − 1 ms (the − 1 because
// a record with exactly max − delay may still come). Sub-millisecond parts
// of delay are dropped. Nothing is emitted before the first event. It
// panics with ErrInvalidGenerator if delay is negative.
func BoundedOutOfOrderness(delay time.Duration) *BoundedGenerator {
	if delay < 0 {
		panic(fmt.Errorf("%w: BoundedOutOfOrderness delay %v is negative", ErrInvalidGenerator, delay))
	}
	return &BoundedGenerator{monotone: monotone{MinWatermark}, delay: delay.Milliseconds(), maxTs: math.MinInt64}
}

// Monotonous returns a generator for timestamps that never decrease:
// bounded out-of-orderness with no delay, so the watermark is max − 1.
func Monotonous() *BoundedGenerator { return BoundedOutOfOrderness(0) }

// OnEvent records ts; it never emits, as in Flink: emitting per record
// would flood the channels with watermarks.
func (g *BoundedGenerator) OnEvent(ts int64) (int64, bool) {
	g.maxTs = max(g.maxTs, ts)
	return g.last, false
}

// OnPeriodic emits max timestamp − delay − 1 if that is above the last
// watermark emitted.
func (g *BoundedGenerator) OnPeriodic() (int64, bool) {
	return g.advance(minus(g.maxTs, g.delay+1))
}

// minus returns a − b for b ≥ 0, saturating at MinWatermark, so that a
// timestamp near MinInt64 (or none yet) gives "nothing known".
func minus(a, b int64) int64 {
	if a < math.MinInt64+b {
		return MinWatermark
	}
	return a - b
}

// PunctuatedGenerator emits watermarks derived from individual events by
// a user function, for sources whose records carry progress markers.
type PunctuatedGenerator struct {
	monotone
	fn func(ts int64) (wm int64, ok bool)
}

// Punctuated returns a generator that asks fn about each event: when fn
// returns ok and a watermark above the last one emitted, it is emitted at
// once. It panics with ErrInvalidGenerator if fn is nil.
func Punctuated(fn func(ts int64) (wm int64, ok bool)) *PunctuatedGenerator {
	if fn == nil {
		panic(fmt.Errorf("%w: Punctuated needs a function", ErrInvalidGenerator))
	}
	return &PunctuatedGenerator{monotone: monotone{MinWatermark}, fn: fn}
}

// OnEvent emits fn's watermark for ts, if any and if it advances.
func (g *PunctuatedGenerator) OnEvent(ts int64) (int64, bool) {
	wm, ok := g.fn(ts)
	if !ok {
		return g.last, false
	}
	return g.advance(wm)
}

// OnPeriodic never emits: punctuated watermarks come with events only.
func (g *PunctuatedGenerator) OnPeriodic() (int64, bool) { return g.last, false }
