package operators

import "time"

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
// the time when the next one may.
func (r *rateLimiter) allow(max int) (int, time.Time) {
	now := r.now()
	if r.start.IsZero() {
		r.start = now
	}
	due := int64(now.Sub(r.start).Seconds()*r.perSecond) + 1
	// Never owe more than one second of records: a stalled source resumes at
	// its rate instead of bursting.
	if floor := due - int64(r.perSecond) - 1; r.granted < floor {
		r.granted = floor
	}
	n := due - r.granted
	if n <= 0 {
		next := r.start.Add(time.Duration(float64(r.granted) / r.perSecond * float64(time.Second)))
		return 0, next
	}
	return int(min(n, int64(max))), time.Time{}
}

// took records how many were emitted.
func (r *rateLimiter) took(n int) { r.granted += int64(n) }
