package actors

import (
	"fmt"
	"math"
	"os"
	"strconv"
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

// validateGC checks GCPercent: off needs a limit to collect at, and the
// runtime takes an int32 (runtime/debug.SetGCPercent would wrap a larger
// one round, 1<<32-1 to -1: off, where nothing may bound the heap).
func (c *Config) validateGC() error {
	switch {
	case c.GCPercent < GCOff || c.GCPercent > math.MaxInt32:
		return fmt.Errorf("%w: GCPercent %d must be from 1 to %d, 0 (the default) or -1 (off)", ErrConfig, c.GCPercent, math.MaxInt32)
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
	if c.Memory == 0 || gogcFromEnv() {
		return 0, false
	}
	return DefaultGCPercent, true
}

// gogcFromEnv says whether the environment holds a GOGC the runtime
// would take: "off" or a decimal int32; anything else, empty or
// malformed, the runtime ignores for its default (100), and so does the
// engine (runtime.readGOGC). It reads the environment when called, as an
// engine starts; the runtime read it when the process started, so a
// GOGC the program sets in its own environment later tells the engine
// that the user chose a target, though the runtime never saw it.
func gogcFromEnv() bool {
	v, ok := os.LookupEnv("GOGC")
	if !ok || v == "off" {
		return ok
	}
	_, err := strconv.ParseInt(v, 10, 32)
	return err == nil
}

// setGCPercent applies the target for the whole process and returns a
// function that lets go of it (processGCPercent says what then applies).
func setGCPercent(c Config) (release func()) {
	pct, ok := c.gcPercent()
	if !ok {
		return func() {}
	}
	return processGCPercent.hold(int64(pct))
}
