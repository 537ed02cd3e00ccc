package actors

import (
	"fmt"

	"github.com/troupe-dev/troupe/operators"
)

// The memory budget (Config.Memory). The engine sets the Go runtime's soft
// memory limit to it and derives from it what its jobs hold in memory, in
// fixed shares (docs/operations.md gives the formula):
//
//   - a quarter for records in flight: each channel holds at most its
//     credits of batches at the receiver, plus two at the sender (the batch
//     being filled, and the one that found no credit with the rest of one
//     record's output), each of at most BatchBytes;
//   - a quarter for the bbolt backends' caches of decoded entries,
//     counted at stateEntryBytes each;
//   - an eighth for async I/O records in flight, counted at
//     asyncRecordBytes each;
//   - the rest for state on the heap, user code, the runtime and the
//     garbage collector's headroom.
//
// What a job needs depends on its graph (channels, keyed and async
// subtasks), so the derived settings are fixed for each job at Submit
// (forJob). A setting given explicitly is kept, and is an error before
// the job starts if it cannot fit its share.

const (
	// MinMemory is the smallest budget (Config.Memory): below it the
	// derived settings would be too small to run anything at speed.
	MinMemory = 16 << 20
	// batchBytesPerMemory: the derived BatchBytes is Memory / 2048 (256
	// KiB at 512 MiB), within [minBatchBytes, maxBatchBytes].
	batchBytesPerMemory = 2048
	minBatchBytes       = 4 << 10
	maxBatchBytes       = 1 << 20
	// Derived credits are within [minDerivedCredits, maxDerivedCredits]:
	// two let a sender fill one batch while the other is consumed; more
	// than the default raise little throughput and lengthen aligned
	// checkpoints under backpressure, so a budget only ever lowers them.
	minDerivedCredits = 2
	maxDerivedCredits = DefaultCredits
	// senderBatches is what a channel holds at its sender beyond its
	// credits: the batch being filled, and the one without credit.
	senderBatches = 2
	// stateEntryBytes is what a cached bbolt entry is counted at (key,
	// decoded value, map overhead).
	stateEntryBytes = 256
	minStateEntries = 64
	// asyncRecordBytes is what an async record in flight is counted at
	// (its input, ledger entry, call, results and sequencer entry).
	asyncRecordBytes = 1 << 10
)

// DefaultCredits is Config.Credits without a memory budget. Eight, as
// Flink grants a channel two buffers of its own and eight shared: a
// window of four 1,024-record batches of small records is filled in
// about 70 µs, less than it can take on a VM to wake a receiver whose
// thread slept, and the sender then waits for credit; eight made
// BenchmarkPipeline_MapFilterKeyedSum 1.2–1.4× faster
// (docs/benchmarks.md). What a channel holds in flight doubles with it.
const DefaultCredits = 8

// budget splits Config.Memory into its shares.
type budget struct{ memory int64 }

func (b budget) inFlight() int64 { return b.memory / 4 }
func (b budget) caches() int64   { return b.memory / 4 }
func (b budget) async() int64    { return b.memory / 8 }

// batchBytes is the derived BatchBytes.
func (b budget) batchBytes() int {
	return int(min(max(b.memory/batchBytesPerMemory, minBatchBytes), maxBatchBytes))
}

// flow returns the credits and batch bytes of a job with the given
// channels: non-zero credits and batchBytes are explicit and kept; the
// others are derived so that the channels fit the in-flight share. An
// explicit pair that cannot fit is an error, as is a job too large for
// the share even with the smallest derived settings.
func (b budget) flow(channels, credits, batchBytes int) (int, int, error) {
	perChannel := b.inFlight() / int64(max(channels, 1))
	bb := batchBytes
	if bb == 0 {
		bb = b.batchBytes()
	}
	cr := credits
	if cr == 0 {
		cr = int(min(max(perChannel/int64(bb)-senderBatches, minDerivedCredits), maxDerivedCredits))
	}
	if need := int64(cr+senderBatches) * int64(bb); need > perChannel && batchBytes == 0 {
		bb = int(max(perChannel/int64(cr+senderBatches), minBatchBytes))
	}
	if need := int64(channels) * int64(cr+senderBatches) * int64(bb); need > b.inFlight() {
		return 0, 0, fmt.Errorf("%w: %d channels × (%d credits + %d) × %d batch bytes = %s in flight, more than a quarter of Memory %s: "+
			"raise Memory, or lower the parallelism, Credits or BatchBytes", ErrConfig, channels, cr, senderBatches, bb,
			formatBytes(need), formatBytes(b.memory))
	}
	return cr, bb, nil
}

// cacheEntries returns the bbolt cache of each of keyed subtasks: explicit
// (non-zero) and checked, or derived from the cache share.
func (b budget) cacheEntries(keyed, explicit int) (int, error) {
	if explicit == 0 {
		return int(max(b.caches()/stateEntryBytes/int64(max(keyed, 1)), minStateEntries)), nil
	}
	if need := int64(keyed) * int64(explicit) * stateEntryBytes; need > b.caches() {
		return 0, fmt.Errorf("%w: StateCacheEntries %d × %d keyed subtasks × %d bytes = %s, more than a quarter of Memory %s",
			ErrConfig, explicit, keyed, stateEntryBytes, formatBytes(need), formatBytes(b.memory))
	}
	return explicit, nil
}

// asyncCeiling returns the most records each of asyncSubtasks may have in
// flight: explicit (non-zero) and checked, or derived from the async
// share.
func (b budget) asyncCeiling(asyncSubtasks, explicit int) (int, error) {
	if explicit == 0 {
		return int(max(b.async()/asyncRecordBytes/int64(max(asyncSubtasks, 1)), 1)), nil
	}
	if need := int64(asyncSubtasks) * int64(explicit) * asyncRecordBytes; need > b.async() {
		return 0, fmt.Errorf("%w: MaxAsyncCapacity %d × %d async subtasks × %d bytes = %s, more than an eighth of Memory %s",
			ErrConfig, explicit, asyncSubtasks, asyncRecordBytes, formatBytes(need), formatBytes(b.memory))
	}
	return explicit, nil
}

// validateMemory checks the budget and the explicit settings that cannot
// fit it whatever the job (one channel, one subtask), when NewEngine
// starts: a job's own needs are checked at Submit (forJob).
func (c *Config) validateMemory() error {
	switch {
	case c.Memory < 0 || c.BatchBytes < 0 || c.StateCacheEntries < 0 || c.MaxAsyncCapacity < 0:
		return fmt.Errorf("%w: Memory %d, BatchBytes %d, StateCacheEntries %d and MaxAsyncCapacity %d must not be negative",
			ErrConfig, c.Memory, c.BatchBytes, c.StateCacheEntries, c.MaxAsyncCapacity)
	case c.Memory == 0:
		return nil
	case c.Memory < MinMemory:
		return fmt.Errorf("%w: Memory %s is below the least budget, %s", ErrConfig, formatBytes(c.Memory), formatBytes(MinMemory))
	}
	b := budget{c.Memory}
	if _, _, err := b.flow(1, c.Credits, c.BatchBytes); err != nil {
		return err
	}
	if _, err := b.cacheEntries(1, c.StateCacheEntries); err != nil {
		return err
	}
	_, err := b.asyncCeiling(1, c.MaxAsyncCapacity)
	return err
}

// jobDemand is what a job graph asks of the memory budget.
type jobDemand struct {
	channels      int // every channel of the job, on every node
	keyed         int // subtasks of vertices fed by a key (keyed state)
	asyncSubtasks int // async operators × their parallelism
}

func demandOf(g *operators.JobGraph) jobDemand {
	var d jobDemand
	for _, v := range g.Vertices {
		for i := range v.Parallelism {
			d.channels += len(v.InputChannels(i))
		}
		for _, e := range v.Inputs {
			if e.Partitioning == operators.Hash {
				d.keyed += v.Parallelism
				break
			}
		}
		d.asyncSubtasks += len(v.AsyncOperators()) * v.Parallelism
	}
	return d
}

// forJob returns the configuration of job g: with a memory budget, the
// settings derived for its graph; with an async ceiling, the check that
// no async operator's capacity set by the pipeline is above it. In a
// cluster the master derives them for the whole job, and every node
// runs the job's subtasks with them (wire.RuntimeConfig).
func (c Config) forJob(g *operators.JobGraph) (Config, error) {
	d := demandOf(g)
	if c.Memory > 0 {
		b := budget{c.Memory}
		var err error
		if c.Credits, c.BatchBytes, err = b.flow(d.channels, c.Credits, c.BatchBytes); err != nil {
			return c, fmt.Errorf("job %q: %w", g.Name, err)
		}
		entries := c.StateCacheEntries
		if c.StateBackend == operators.StateBackendBolt || entries == 0 {
			if entries, err = b.cacheEntries(d.keyed, entries); err != nil {
				return c, fmt.Errorf("job %q: %w", g.Name, err)
			}
		}
		c.StateCacheEntries = entries
		if c.MaxAsyncCapacity, err = b.asyncCeiling(d.asyncSubtasks, c.MaxAsyncCapacity); err != nil {
			return c, fmt.Errorf("job %q: %w", g.Name, err)
		}
	}
	if c.Credits == 0 {
		c.Credits = DefaultCredits
	}
	if err := checkInFlightCodecs(g, c.Checkpoint); err != nil {
		return c, err
	}
	return c, checkAsyncCapacities(g, c.MaxAsyncCapacity)
}

// checkInFlightCodecs fails an unaligned job one of whose channels carries
// records its codec would not keep whole (the default JSON codec and a
// type with an unexported field): an unaligned checkpoint stores what is
// in flight on its channels in their codec, and the restore would replay
// zero values in their place, silently. (A source's held poll of such
// records, which no channel carries, is not stored: its unaligned
// checkpoint waits for it to go in, see operators.Chain.HeldSource.)
func checkInFlightCodecs(g *operators.JobGraph, ck CheckpointConfig) error {
	if !ck.Unaligned {
		return nil
	}
	for _, v := range g.Vertices {
		for _, e := range v.Inputs {
			if err := e.CheckLossless(); err != nil {
				return fmt.Errorf("%w: job %q: unaligned checkpoints store the records in flight on its channels: %w", ErrConfig, g.Name, err)
			}
		}
	}
	return nil
}

// CheckJob reports what Submit would refuse of job g under c: a
// configuration that is not valid, or a job that cannot fit its memory
// budget or async ceiling, or whose channels carry records their codec
// would not keep whole with unaligned checkpoints (ErrConfig, naming
// what does not fit). A command line checks it before it starts
// anything.
func (c Config) CheckJob(g *operators.JobGraph) error {
	c.Logger = QuietLogger() // validate's default would not be used
	if err := c.validate(); err != nil {
		return err
	}
	_, err := c.forJob(g)
	return err
}

// checkAsyncCapacities fails a job with an async operator whose capacity
// the pipeline set above the ceiling (0: none); a default one is lowered
// when the operator opens.
func checkAsyncCapacities(g *operators.JobGraph, ceiling int) error {
	if ceiling == 0 {
		return nil
	}
	for _, v := range g.Vertices {
		for _, op := range v.AsyncOperators() {
			if op.CapacitySet && op.Capacity > ceiling {
				return fmt.Errorf("%w: job %q: async operator %q (vertex %q) has Capacity %d, above the ceiling of %d records in flight per subtask (MaxAsyncCapacity, or an eighth of Memory at %d bytes a record)",
					ErrConfig, g.Name, op.Name, v.Name, op.Capacity, ceiling, asyncRecordBytes)
			}
		}
	}
	return nil
}

// setMemoryLimit applies the budget as the Go runtime's soft memory limit
// and returns a function that lets go of it (processMemoryLimit says what
// then applies).
func setMemoryLimit(memory int64) (release func()) {
	if memory == 0 {
		return func() {}
	}
	return processMemoryLimit.hold(memory)
}

// formatBytes writes n in the largest binary unit that keeps it whole
// enough to read: 512 MiB, 1.5 GiB, 300 KiB, 12 B.
func formatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[u])
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}
