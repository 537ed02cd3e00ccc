package actors

import (
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
)

// The Go runtime's collector settings (the soft memory limit, GOGC) are
// the process's, and several engines may run in one: a test's cluster, a
// program that embeds two. Each is a runtimeSetting that the running
// engines hold: the latest started that still runs has its value, and
// once none runs the process gets back what it had before the first.
// One lock orders every engine's set and put-back, so that none falls
// between another's read and write. A value set from outside the engines
// (runtime/debug by the program) since the engines' last is left alone
// when an engine lets go.

// runtimeSetting is one process-wide runtime setting that engines hold
// while they run. Its methods are safe for concurrent use.
type runtimeSetting struct {
	read func() int64  // the value now, changing nothing
	set  func(v int64) // makes v the value
	mu   sync.Mutex    // guards the fields below and every read and set
	held []*int64      // the running holders' values, in start order
	base int64         // the value before the first holder
	last int64         // the value the holders set last
}

// hold makes v the value until the returned release, which is safe to
// call more than once, lets go of it.
func (s *runtimeSetting) hold(v int64) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &v // each hold's own, found again by its address
	// The value to put back once no engine holds the setting: what the
	// program had before the first holder, or what it set since the
	// engines last did (theirs would otherwise overwrite it for good).
	if now := s.read(); len(s.held) == 0 || now != s.last {
		s.base = now
	}
	s.held = append(s.held, h)
	s.set(v)
	s.last = v
	var once sync.Once
	return func() { once.Do(func() { s.release(h) }) }
}

// release lets go of hold h: the value becomes the latest remaining
// holder's, or the one before the first, unless it was changed from
// outside the engines since they set it.
func (s *runtimeSetting) release(h *int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = slices.DeleteFunc(s.held, func(x *int64) bool { return x == h })
	want := s.base
	if n := len(s.held); n > 0 {
		want = *s.held[n-1]
	}
	if s.read() != s.last {
		return // the program's own: it stays
	}
	s.set(want)
	s.last = want
}

// outside returns the value as the program (or the environment) has it,
// apart from the engines: the value now if no engine holds the setting,
// else the one before the first holder, unless the program has changed
// it since the engines last set it.
func (s *runtimeSetting) outside() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.read(); len(s.held) == 0 || v != s.last {
		return v
	}
	return s.base
}

// processMemoryLimit is the soft memory limit (Config.Memory).
var processMemoryLimit = &runtimeSetting{
	read: func() int64 { return debug.SetMemoryLimit(-1) },
	set:  func(v int64) { debug.SetMemoryLimit(v) },
}

// processGCPercent is the collector's target, GOGC (Config.GCPercent);
// -1 is off.
var processGCPercent = &runtimeSetting{
	read: readGCPercent,
	set:  func(v int64) { debug.SetGCPercent(int(v)) },
}

// readGCPercent reads GOGC without setting it (runtime/debug can only
// swap it): off reads as -1.
func readGCPercent() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()) // off is -1, as the runtime stores it
}
