package operators

import (
	"math"
	"time"
)

// rateLimiter paces a source to a number of records per second. It grants
// records against the time elapsed since the source started, so a slow
// consumer does not make it burst later beyond one poll's worth.
type rateLimiter struct {
	perSecond float64
	now       func() time.Time
	start     time.Time
	granted   int64
}

func newRateLimiter(perSecond float64, now func() time.Time) *rateLimiter {
	return &rateLimiter{perSecond: perSecond, now: now}
}

// allow returns how many records (at most max) may be emitted now, or 0 and
// the time when the next one is due.
func (r *rateLimiter) allow(max int) (int, time.Time) {
	now := r.now()
	if r.start.IsZero() {
		r.start = now
	}
	// Record k (0-based) is due k/perSecond seconds after the start; the
	// epsilon keeps a poll at exactly the returned time from rounding down.
	due := int64(math.Floor(float64(now.Sub(r.start))*r.perSecond/1e9+1e-9)) + 1
	// Never owe more than one second of records: a stalled source resumes at
	// its rate instead of bursting.
	if floor := due - int64(math.Ceil(r.perSecond)); r.granted < floor {
		r.granted = floor
	}
	n := due - r.granted
	if n <= 0 {
		next := r.start.Add(time.Duration(math.Ceil(float64(r.granted) / r.perSecond * 1e9)))
		return 0, next
	}
	return int(min(n, int64(max))), time.Time{}
}

// took records how many were emitted.
func (r *rateLimiter) took(n int) { r.granted += int64(n) }
