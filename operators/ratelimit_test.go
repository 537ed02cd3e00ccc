package operators

import (
	"testing"
	"time"
)

// manualClock is a clock that moves only when a test moves it. It is used
// from the test's goroutine only.
type manualClock struct{ now time.Time }

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time          { return c.now }
func (c *manualClock) Advance(d time.Duration) { c.now = c.now.Add(d) }
func (c *manualClock) Set(t time.Time)         { c.now = t }

// grant asks for up to max records and takes all it is given.
func grant(r *rateLimiter, max int) (int, time.Time) {
	n, until := r.allow(max)
	r.took(n)
	return n, until
}

func TestRateLimiter_allow_firstRecordAtOnce(t *testing.T) {
	clock := newManualClock()
	r := newRateLimiter(100, clock.Now)
	if n, _ := grant(r, 1000); n != 1 {
		t.Fatalf("at t=0: granted %d, want 1", n)
	}
}

func TestRateLimiter_allow_paces(t *testing.T) {
	clock := newManualClock()
	r := newRateLimiter(100, clock.Now)
	grant(r, 1000)
	clock.Advance(100 * time.Millisecond)
	if n, _ := grant(r, 1000); n < 9 || n > 11 {
		t.Fatalf("after 100ms at 100/s: granted %d, want about 10", n)
	}
	clock.Advance(100 * time.Millisecond)
	if n, _ := grant(r, 3); n != 3 {
		t.Fatalf("granted %d with max 3, want 3", n)
	}
}

func TestRateLimiter_allow_noBurstAfterStall(t *testing.T) {
	for _, rate := range []float64{100, 1000, 2.5} {
		clock := newManualClock()
		r := newRateLimiter(rate, clock.Now)
		grant(r, 1<<30)
		clock.Advance(time.Hour)
		// One second's worth, plus the record due at the start of that
		// second (the limiter grants one at once at t=0 too).
		limit := int(rate) + 1
		if n, _ := grant(r, 1<<30); n > limit {
			t.Errorf("rate %v: after an hour's stall granted %d, want at most %d", rate, n, limit)
		}
		clock.Advance(100 * time.Millisecond)
		if n, _ := grant(r, 1<<30); float64(n) > rate/10+1 {
			t.Errorf("rate %v: 100ms after the stall granted %d, want about %v", rate, n, rate/10)
		}
	}
}

func TestRateLimiter_allow_until(t *testing.T) {
	clock := newManualClock()
	start := clock.Now()
	r := newRateLimiter(100, clock.Now)
	grant(r, 1000)
	clock.Advance(time.Millisecond)
	n, until := grant(r, 1000)
	if n != 0 {
		t.Fatalf("at 1ms: granted %d, want 0", n)
	}
	if want := start.Add(10 * time.Millisecond); !until.Equal(want) {
		t.Fatalf("until = %v after start, want 10ms", until.Sub(start))
	}
	clock.Set(until)
	if n, _ := grant(r, 1000); n != 1 {
		t.Fatalf("at until: granted %d, want 1", n)
	}
}

// TestRateLimiter_allow_untilIsDue follows the limiter as the runtime does,
// waiting until each Until: Until must be later than now, a record must be
// due right after it, and the total must match the rate.
//
// Right after, not at: allow computes Until and the due count in float64
// seconds, truncating both, so Until can be 1–2ns early (at 3/s, after one
// record: Until = start+333333333ns, where 0.333333333*3 truncates to 0 due).
// A runtime on real timers then polls once more; a manual clock must step
// past it. Rounding Until up would make it exact.
func TestRateLimiter_allow_untilIsDue(t *testing.T) {
	const slack = time.Microsecond
	for _, rate := range []float64{1, 3, 7.5, 100, 333, 1000, 0.5} {
		clock := newManualClock()
		start := clock.Now()
		r := newRateLimiter(rate, clock.Now)
		total := 0
		for clock.Now().Sub(start) < 10*time.Second {
			n, until := grant(r, 1)
			total += n
			if n > 0 {
				continue
			}
			if !until.After(clock.Now()) {
				t.Fatalf("rate %v: nothing due at %v but until %v is not later", rate, clock.Now().Sub(start), until.Sub(start))
			}
			clock.Set(until.Add(slack))
			if n, _ := r.allow(1); n == 0 {
				t.Fatalf("rate %v: nothing due %v after until %v", rate, slack, until.Sub(start))
			}
		}
		if want := int(rate*10) + 1; total < want-1 || total > want {
			t.Errorf("rate %v: %d records in 10s, want %d", rate, total, want)
		}
	}
}
