package actors

import (
	"os"
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
// collector at the runtime's defaults (no Memory, no GCPercent, neither
// GOGC nor GOMEMLIMIT in the environment), the process holds a reserve:
// one pointer-free allocation of DefaultHeapReserve bytes that the engine
// never writes. The collector counts it live, and so lets the heap grow
// by GOGC percent of it more between two collections, but never scans
// it. Where the engine or the user tunes the collector otherwise, the
// reserve would only blur that tuning, so there is none.
//
// Invariant: one reserve serves every engine in the process, held from
// the first engine that wants it to the Close of the last one.

// DefaultHeapReserve is the size of the heap reserve (see above): at the
// runtime's default GOGC, 100, the heap grows by at least 8 MiB between
// two collections instead of 4 MiB less what is live.
const DefaultHeapReserve = 8 << 20

// heapReserve is the process's reserve. Its methods are safe for
// concurrent use.
type heapReserve struct {
	mu      sync.Mutex
	holders int
	buf     []byte // nil while no engine holds the reserve
}

var processHeapReserve = &heapReserve{}

// holdHeapReserve holds the process's reserve while the engine of c runs,
// if c leaves the collector at the runtime's defaults, and returns what
// lets go of it (safe to call more than once).
func holdHeapReserve(c Config) (release func()) {
	if c.HeapReserve() == 0 {
		return func() {}
	}
	return processHeapReserve.hold()
}

// HeapReserve returns the bytes of heap reserve an engine started with c
// in this process's environment holds while it runs: DefaultHeapReserve
// where nothing in c or the environment tunes the collector, else 0.
// (For a benchmark to give its baseline the same collector.)
func (c Config) HeapReserve() int {
	if c.wantsHeapReserve() {
		return DefaultHeapReserve
	}
	return 0
}

// wantsHeapReserve reports whether the collector runs at the runtime's
// defaults under c: nothing in c or the environment tunes it.
func (c *Config) wantsHeapReserve() bool {
	// The runtime ignores an empty GOMEMLIMIT and stops at a malformed
	// one, so any other value is a limit it took.
	return c.Memory == 0 && c.GCPercent == 0 && !gogcFromEnv() && os.Getenv("GOMEMLIMIT") == ""
}

func (r *heapReserve) hold() (release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.holders == 0 {
		r.buf = make([]byte, DefaultHeapReserve)
	}
	r.holders++
	var once sync.Once
	return func() { once.Do(r.release) }
}

func (r *heapReserve) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.holders--; r.holders == 0 {
		r.buf = nil
	}
}

// state returns how many engines hold the reserve and its size in bytes
// (0 or DefaultHeapReserve).
func (r *heapReserve) state() (holders, size int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.holders, len(r.buf)
}
