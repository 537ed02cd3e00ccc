package persistence

import (
	"fmt"
	"time"
)

// TTLConfig makes state entries expire a fixed time after they were last
// written (or read). The zero value disables TTL.
//
// Expiry is per entry: per key for value, reducing and aggregating state,
// per element for list state, per user key for map state. Expired entries
// are removed lazily when accessed, a few at a time by every access to the
// state (incremental cleanup), and are never written to snapshots.
type TTLConfig struct {
	// TTL is how long an entry lives after its timestamp was last set.
	// 0 (the default) disables TTL; it must not be negative.
	TTL time.Duration
	// Update says which accesses reset an entry's timestamp. Default:
	// OnCreateAndWrite.
	Update TTLUpdate
	// Visibility says whether reads may return expired entries. Default:
	// NeverReturnExpired.
	Visibility TTLVisibility
}

// TTLUpdate says which accesses reset an entry's TTL timestamp.
type TTLUpdate byte

const (
	// OnCreateAndWrite resets the timestamp when the entry is written.
	OnCreateAndWrite TTLUpdate = iota
	// OnReadAndWrite also resets it when the entry is read.
	OnReadAndWrite
)

// TTLVisibility says whether reads may return expired entries.
type TTLVisibility byte

const (
	// NeverReturnExpired hides expired entries from every read.
	NeverReturnExpired TTLVisibility = iota
	// ReturnExpiredIfNotCleanedUp returns an expired entry found by a read
	// (once: the read then removes it). Entries already removed by
	// cleanup are gone.
	ReturnExpiredIfNotCleanedUp
)

// Incremental cleanup: every sweepEvery accesses to a state with TTL,
// sweepKeys of its keys are examined for expired entries, two per access
// on average. Sweeping in batches amortises the cost of starting a map
// iteration, which picks a random position and is what makes the sample
// random.
const (
	sweepEvery = 16
	sweepKeys  = 32
)

// sweepDue counts an access and reports whether it is time to sweep.
func sweepDue(accesses *uint32) bool {
	*accesses++
	return *accesses%sweepEvery == 0
}

// tick starts an access to a table m under policy p: it returns the time
// (0 with TTL off) and, every sweepEvery accesses, calls prune on up to
// sweepKeys entries of m other than the current key's (left to the
// access, which under ReturnExpiredIfNotCleanedUp may still return it).
func tick[K comparable, C any](p ttlPolicy, accesses *uint32, m map[K]C, cur K, prune func(K, C, int64)) int64 {
	if !p.on() {
		return 0
	}
	now := p.stamp()
	if !sweepDue(accesses) {
		return now
	}
	n := 0
	for k, c := range m {
		if k != cur {
			prune(k, c, now)
		}
		if n++; n == sweepKeys {
			break
		}
	}
	return now
}

func (c TTLConfig) validate(state, desc string) error {
	switch {
	case c.TTL < 0:
		return configErr(state, "%s.TTL.TTL is %v, must not be negative", desc, c.TTL)
	case c.Update > OnReadAndWrite:
		return configErr(state, "%s.TTL.Update is %d, not a TTLUpdate", desc, c.Update)
	case c.Visibility > ReturnExpiredIfNotCleanedUp:
		return configErr(state, "%s.TTL.Visibility is %d, not a TTLVisibility", desc, c.Visibility)
	}
	return nil
}

// ttlPolicy is a TTLConfig ready for the hot path. Timestamps are Unix
// nanoseconds; with TTL off they are all 0 and the clock is never read.
type ttlPolicy struct {
	ttl           int64
	onRead        bool
	returnExpired bool
	now           func() time.Time
}

func newTTLPolicy(c TTLConfig, now func() time.Time) ttlPolicy {
	return ttlPolicy{
		ttl:           int64(c.TTL),
		onRead:        c.Update == OnReadAndWrite,
		returnExpired: c.Visibility == ReturnExpiredIfNotCleanedUp,
		now:           now,
	}
}

func (p ttlPolicy) on() bool { return p.ttl > 0 }

// stamp returns the current time, or 0 when TTL is off.
func (p ttlPolicy) stamp() int64 {
	if p.ttl <= 0 {
		return 0
	}
	return p.now().UnixNano()
}

// expired reports whether an entry stamped ts has expired at now. The
// unsigned difference cannot overflow, even for timestamps read from a
// snapshot written by another clock.
func (p ttlPolicy) expired(ts, now int64) bool {
	return p.ttl > 0 && ts <= now && uint64(now-ts) >= uint64(p.ttl)
}

// restored returns the timestamp to give a restored entry and whether to
// keep it: entries written without TTL start their life now.
func (p ttlPolicy) restored(r record, now int64) (int64, bool) {
	switch {
	case !p.on():
		return 0, true
	case !r.hasTS:
		return now, true
	}
	return r.ts, !p.expired(r.ts, now)
}

func configErr(state, format string, args ...any) error {
	return fmt.Errorf("%w: state %q: %s", ErrConfig, state, fmt.Sprintf(format, args...))
}
