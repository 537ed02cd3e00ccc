package actors

import (
	"fmt"
	"os"
	"runtime/debug"
)

// The collector's target (Config.GCPercent). With a memory budget the
// soft memory limit bounds the heap whatever GOGC says, so a larger GOGC
// does not raise the most a node can hold; it only lets a small live heap
// grow further before each collection. A stream job's heap is mostly
// records that die within a batch, so at the runtime's default, 100, a
// node whose live heap is a few MiB collects hundreds of times a second
// and spends a quarter of a core on it (docs/benchmarks.md, "Scaling").

// DefaultGCPercent is the collector's target with a memory budget when
// neither Config.GCPercent nor the GOGC environment variable sets one:
// a heap of up to nine times what the last collection left live, under
// the soft limit.
const DefaultGCPercent = 800

// GCOff is Config.GCPercent for a collector that runs only as the heap
// nears the memory limit (GOGC=off with GOMEMLIMIT).
const GCOff = -1

// validateGC checks GCPercent: off needs a limit to collect at.
func (c *Config) validateGC() error {
	switch {
	case c.GCPercent < GCOff:
		return fmt.Errorf("%w: GCPercent %d must be positive, 0 (the default) or -1 (off)", ErrConfig, c.GCPercent)
	case c.GCPercent == GCOff && c.Memory == 0:
		return fmt.Errorf("%w: GCPercent -1 (off) needs Memory: without a soft memory limit the heap would never be collected", ErrConfig)
	}
	return nil
}

// gcPercent is the target the engine sets, and false where it leaves the
// runtime's own (GOGC, or 100): an explicit GCPercent; else, with a
// budget and no GOGC in the environment, DefaultGCPercent.
func (c *Config) gcPercent() (int, bool) {
	if c.GCPercent != 0 {
		return c.GCPercent, true
	}
	if _, env := os.LookupEnv("GOGC"); c.Memory == 0 || env {
		return 0, false
	}
	return DefaultGCPercent, true
}

// setGCPercent applies the target for the whole process and returns a
// function that puts the previous one back, unless another engine has
// set its own since.
func setGCPercent(c Config) (restore func()) {
	pct, ok := c.gcPercent()
	if !ok {
		return func() {}
	}
	prev := debug.SetGCPercent(pct)
	return func() {
		if now := debug.SetGCPercent(prev); now != pct {
			debug.SetGCPercent(now)
		}
	}
}
