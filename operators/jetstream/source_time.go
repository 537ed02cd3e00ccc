package jetstream

import (
	"cmp"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/watermark"
)

// splitClock makes a source subtask's watermarks from its splits', as
// Flink's per-split watermark multiplexing does: each split has its own
// generator and idleness detector, and a watermark.Combined over the
// splits, as Flink's CombinedWatermarkStatus, gives the subtask's
// watermark — the highest the minimum over the splits that are not idle
// has reached — and its idle status (idle when every split is). A split
// that comes back from idleness behind the subtask's watermark holds it
// where it is until it passes it (a channel valve's catch-up rule would
// let the other splits run ahead and make its records late), and a split
// that has ended leaves the combination.
//
// It is plain data driven by the reader on the subtask's goroutine:
// onRecord for each record, onTime at the times nextTime gives, finish
// when a bounded split ends. emit and mark forward the subtask's
// watermark and status downstream.
type splitClock struct {
	gens     []watermark.Generator
	idle     []*watermark.IdleDetector
	seen     []bool // a record came since the last onTime
	ended    []bool
	splits   *watermark.Combined
	interval time.Duration
	next     time.Time // the next periodic watermark
	emit     func(wm int64)
	mark     func(idle bool)
	// backpressured says whether the subtask's output waits for credit
	// (TaskContext.Backpressured); nil: never
	backpressured func() bool
	due           []splitWM // scratch of periodic
}

func newSplitClock(n int, s watermark.Strategy, now time.Time, emit func(int64), mark func(bool)) *splitClock {
	c := &splitClock{gens: make([]watermark.Generator, n), idle: make([]*watermark.IdleDetector, n),
		seen: make([]bool, n), ended: make([]bool, n), splits: watermark.NewCombined(n),
		interval: s.PeriodicInterval(), next: now.Add(s.PeriodicInterval()), emit: emit, mark: mark}
	for k := range n {
		c.gens[k] = s.NewGenerator()
		c.idle[k] = watermark.NewIdleDetector(s.IdleTimeout, now.UnixMilli())
	}
	return c
}

// onRecord accounts for a record of split k with timestamp ts. An idle
// split becomes active again first, before the record goes downstream.
func (c *splitClock) onRecord(k int, ts int64, now func() time.Time) {
	if c.idle[k].Idle() {
		c.idle[k].OnRecord(now().UnixMilli())
		c.forward(c.splits.SetIdle(k, false))
	}
	c.seen[k] = true
	if wm, ok := c.gens[k].OnEvent(ts); ok {
		c.watermark(k, wm)
	}
}

// nextTime is when onTime is due: the next periodic watermark, or a
// split's idleness deadline if that comes first.
func (c *splitClock) nextTime() time.Time {
	next := c.next
	for k, d := range c.idle {
		if c.ended[k] || c.seen[k] {
			continue // a split that saw records is checked at the next period
		}
		if at, ok := d.Deadline(); ok && time.UnixMilli(at).Before(next) {
			next = time.UnixMilli(at)
		}
	}
	return next
}

// onTime emits the periodic watermarks that are due and announces the
// splits that have become idle.
func (c *splitClock) onTime(now time.Time) {
	if !now.Before(c.next) {
		c.periodic()
		c.next = now.Add(c.interval)
	}
	ms := now.UnixMilli()
	// Backpressured, the subtask polls nothing: its splits' records wait
	// in the fetchers, so no split is idle. Their timeouts restart (Flink
	// pauses them) and run again once the output has room.
	paused := c.backpressured != nil && c.backpressured()
	for k, d := range c.idle {
		if c.ended[k] {
			continue
		}
		if c.seen[k] || (paused && !d.Idle()) {
			c.seen[k] = false
			d.OnRecord(ms)
		}
		if d.Check(ms) {
			c.forward(c.splits.SetIdle(k, true))
		}
	}
}

// periodic asks every active split's generator for its watermark and
// hands them to the combination lowest first, so that only the minimum
// over all of them is emitted, as if they came at once.
func (c *splitClock) periodic() {
	c.due = c.due[:0]
	for k, g := range c.gens {
		if c.ended[k] || c.idle[k].Idle() {
			continue
		}
		if wm, ok := g.OnPeriodic(); ok {
			c.due = append(c.due, splitWM{k, wm})
		}
	}
	slices.SortFunc(c.due, func(a, b splitWM) int { return cmp.Compare(a.wm, b.wm) })
	for _, d := range c.due {
		c.watermark(d.k, d.wm)
	}
}

// splitWM is a split's new watermark.
type splitWM struct {
	k  int
	wm int64
}

// finish takes an ended split out of the combination for good, as Flink
// unregisters its output.
func (c *splitClock) finish(k int) {
	if c.ended[k] {
		return
	}
	c.ended[k] = true
	c.forward(c.splits.Remove(k))
}

func (c *splitClock) watermark(k int, wm int64) {
	if out, advanced := c.splits.Watermark(k, wm); advanced {
		c.emit(out)
	}
}

func (c *splitClock) forward(ch watermark.Change) {
	if ch.Advanced {
		c.emit(ch.Watermark)
	}
	if ch.StatusChanged {
		c.mark(ch.Status == watermark.Idle)
	}
}
