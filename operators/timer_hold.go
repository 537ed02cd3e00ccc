package operators

import "time"

// firingHold is what an operator that fires timers (windows, keyed
// process functions) holds while the chain's output waits for credit: a
// watermark or a time of the clock whose timers have not all fired. The
// timers not fired yet are still in the operator's queues, and so in
// any snapshot taken meanwhile; what fired was emitted before the
// barrier. So the hold needs nothing from checkpoints, aligned or not.
//
// A held watermark goes on downstream (TaskContext.EmitWatermark) only
// once its timers have all fired, after their output, as Flink's window
// operator forwards a watermark after what it fired.
//
// The watermark and the clock fire in the order they came: in Flink a
// watermark's timers all fire in its mailbox action, before a
// processing-time timer that comes due meanwhile, and a processing-time
// timer's action ends before the next watermark is taken. So while one
// of them is held, the other only joins the hold (clockFirst says which
// came first), even when the output has room again before the runtime
// resumes the chain.
type firingHold struct {
	wm     bool      // the watermark's timers have not all fired: it is held back
	at     int64     // that watermark
	proc   bool      // the clock's timers up to procAt have not all fired
	procAt time.Time // the time of the OnProcessingTime that stopped
	// clockFirst: both are held, and the clock's time came before the
	// watermark; otherwise the watermark's timers fire first
	clockFirst bool
}

// watermark fires what watermark wm passed (fire reports whether all
// fired): it returns wm to forward it, or holds it back until resume.
// A watermark that comes while one is held is fired with it: it only
// moves the time up to which timers fire. One that comes while the
// clock's timers are held waits behind them.
func (h *firingHold) watermark(wm int64, fire func() bool) (int64, bool) {
	if h.proc {
		if !h.wm {
			h.clockFirst = true
		}
		h.wm, h.at = true, wm
		return wm, false
	}
	h.wm, h.at = !fire(), wm
	return wm, !h.wm
}

// clock fires the processing-time timers that time now has passed, and
// holds the rest (fire reports whether all fired). While a watermark's
// timers are held, it only holds the time: they fire first.
func (h *firingHold) clock(now time.Time, fire func(time.Time) bool) {
	if h.proc && now.Before(h.procAt) {
		now = h.procAt
	}
	if h.wm && !(h.proc && h.clockFirst) {
		h.proc, h.procAt, h.clockFirst = true, now, false
		return
	}
	h.proc, h.procAt = !fire(now), now
}

func (h *firingHold) holding() bool { return h.wm || h.proc }

// resume fires what is held, in the order it came (see clockFirst),
// until the output waits for credit again, and forwards a held
// watermark once its timers have all fired. It reports whether nothing
// is held any more.
func (h *firingHold) resume(tc *TaskContext, clock func(time.Time) bool, event func() bool) bool {
	if h.proc && (h.clockFirst || !h.wm) {
		if h.proc = !clock(h.procAt); h.proc {
			return false
		}
	}
	if h.wm {
		if h.wm = !event(); h.wm {
			return false
		}
		tc.EmitWatermark(h.at)
	}
	if h.proc {
		if h.proc = !clock(h.procAt); h.proc {
			return false
		}
	}
	h.clockFirst = false
	return true
}
