package watermark

import "time"

// IdleDetector decides when a source split is idle: it has had no records
// for the idle timeout, in processing time. The runtime tells it when
// records come (OnRecord) and asks it on a timer (Check), and forwards
// the transitions it reports: "idle" downstream so the split stops
// holding the watermark back, "active" before the next record.
//
// Processing times are epoch milliseconds passed in by the runtime; the
// detector never reads the clock. It is not safe for concurrent use.
type IdleDetector struct {
	timeout int64 // milliseconds; 0: never idle
	last    int64 // processing time of the last record, or of the start
	idle    bool
}

// NewIdleDetector returns a detector for a split that starts at
// processing time now, active: a split that never produces a record goes
// idle timeout after now. A timeout ≤ 0 (or below 1 ms) means never idle.
func NewIdleDetector(timeout time.Duration, now int64) *IdleDetector {
	return &IdleDetector{timeout: max(timeout.Milliseconds(), 0), last: now}
}

// OnRecord notes a record at processing time now. It returns true if the
// split was idle and is now active again: the runtime announces "active"
// before forwarding the record.
func (d *IdleDetector) OnRecord(now int64) (activated bool) {
	d.last = now
	activated = d.idle
	d.idle = false
	return activated
}

// Check returns true if the split has just become idle: no record since
// at least the timeout before now. It returns false if the split was
// already idle, so each transition is reported once.
func (d *IdleDetector) Check(now int64) (idled bool) {
	if d.idle || d.timeout == 0 || !elapsed(d.last, now, d.timeout) {
		return false
	}
	d.idle = true
	return true
}

// elapsed reports now − last ≥ d without overflow: the difference of two
// int64 always fits in a uint64 when now ≥ last.
func elapsed(last, now, d int64) bool {
	return now >= last && uint64(now)-uint64(last) >= uint64(d)
}

// Idle reports whether the split is idle.
func (d *IdleDetector) Idle() bool { return d.idle }

// Deadline returns the processing time at which the split goes idle if no
// record comes first, so the runtime can set one timer instead of
// polling; ok is false if it is idle already or never goes idle.
func (d *IdleDetector) Deadline() (at int64, ok bool) {
	if d.idle || d.timeout == 0 {
		return 0, false
	}
	if d.last > MaxWatermark-d.timeout {
		return MaxWatermark, true
	}
	return d.last + d.timeout, true
}
