package actors

import (
	"math"
	"sync"
)

// The heap reserve. Go's collector paces itself by the live heap: it
// runs when the heap has grown by GOGC percent of what the last
// collection left live, or reached 4 MiB. A stream job's live heap is
// often small (its records die within a batch; a stateless job keeps
// almost nothing) while it allocates hundreds of MB a second, so at the
// runtime's defaults it collects a hundred times a second or more; and a
// collection costs more than its live heap, since it also scans every
// goroutine's stack and the globals, and while it marks, every pointer
// write takes the write barrier. So while an engine runs with the
// collector at the runtime's defaults, the process holds a reserve: one
// pointer-free allocation of DefaultHeapReserve bytes that the engine
// never writes. The collector counts it live, and so lets the heap grow
// by GOGC percent of it more between two collections, but never scans
// it. Where anything tunes the collector otherwise — the engine's own
// Config (Memory, GCPercent), another running engine's, a GOGC in the
// environment, or a target or soft limit the program or the environment
// gave the runtime before the engine started — the reserve would only
// blur that tuning, so there is none.
//
// Invariants:
//   - The process holds one reserve, never more, and holds it exactly
//     while at least one running engine wants it and no running engine
//     tunes the collector: an engine that tunes it, started beside one
//     that wants the reserve, takes the reserve away until it closes.
//   - Each engine is counted once, from NewEngine to its first Close.

// DefaultHeapReserve is the size of the heap reserve (see above): at the
// runtime's default GOGC, 100, the heap grows by at least 8 MiB between
// two collections instead of 4 MiB less what is live.
const DefaultHeapReserve = 8 << 20

// heapReserve is the process's reserve and the running engines' claims on
// the collector. Its methods are safe for concurrent use.
type heapReserve struct {
	mu      sync.Mutex
	wanting int    // running engines that want the reserve
	tuning  int    // running engines that tune the collector themselves
	buf     []byte // nil unless wanting > 0 and tuning == 0
}

var processHeapReserve = &heapReserve{}

// reserveClaim is what one engine asks of the reserve.
type reserveClaim int

const (
	claimNone reserveClaim = iota // the environment or the program tunes the collector
	claimWant                     // the collector is at the runtime's defaults
	claimTune                     // the engine's Config tunes the collector
)

// holdHeapReserve registers the claim of an engine started with c and
// returns what withdraws it (safe to call more than once). Call it after
// setGCPercent and setMemoryLimit, which it does not count as the
// program's tuning.
func holdHeapReserve(c Config) (release func()) {
	return processHeapReserve.claim(c.reserveClaim())
}

// HeapReserve returns the bytes of heap reserve an engine started now
// with c would want: DefaultHeapReserve where nothing in c, the
// environment or the program tunes the collector, else 0. The process
// holds it only while no running engine tunes the collector. (For a
// benchmark to give its baseline the same collector.)
func (c Config) HeapReserve() int {
	if c.reserveClaim() == claimWant {
		return DefaultHeapReserve
	}
	return 0
}

// reserveClaim classifies c in this process as it is now.
func (c Config) reserveClaim() reserveClaim {
	switch {
	case c.Memory != 0 || c.GCPercent != 0:
		return claimTune
	case gogcFromEnv() || programTunedGC():
		return claimNone
	}
	return claimWant
}

// programTunedGC reports whether the collector's target or soft limit,
// as the program or the environment (GOMEMLIMIT) left them before any
// engine set its own, differ from the runtime's defaults (100, none).
func programTunedGC() bool {
	return processGCPercent.outside() != 100 || processMemoryLimit.outside() != math.MaxInt64
}

func (r *heapReserve) claim(k reserveClaim) (release func()) {
	if k == claimNone {
		return func() {}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count(k, 1)
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.count(k, -1)
		})
	}
}

// count adds d to k's engines and holds or drops the reserve to match.
func (r *heapReserve) count(k reserveClaim, d int) {
	if k == claimWant {
		r.wanting += d
	} else {
		r.tuning += d
	}
	switch hold := r.wanting > 0 && r.tuning == 0; {
	case hold && r.buf == nil:
		r.buf = make([]byte, DefaultHeapReserve)
	case !hold:
		r.buf = nil
	}
}

// state returns how many running engines want the reserve and its size
// in bytes (0 or DefaultHeapReserve).
func (r *heapReserve) state() (wanting, size int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wanting, len(r.buf)
}
