package operators

import (
	"reflect"
	"slices"
)

// The batch path: where every operator of a chain, from its head to its
// output router, hands each record on as at most one record (map,
// filter, the timestamp assigner with a bounded generator, reduce, a
// sink; a router that sends each record to one channel), and the records
// hold no pointers, a run of records crosses each operator with one call
// instead of one call per record. A source's generator emits its poll in
// runs, and an input batch goes into the chain in runs.
//
// Invariants:
//   - A run passes the operators in order, each operator taking the whole
//     run before the next sees any of it. An operator's function is still
//     called once per record, in order, and the records reach the next
//     operator in the order they were emitted; only the interleaving of
//     two operators' functions changes, which they cannot observe (they
//     share nothing but the records).
//   - An operator takes runs (takesRuns) only if the operator after it
//     does: the batch path is the whole chain or none of it. Any other
//     operator (flatMap, a process function, a window) makes the whole
//     chain go record by record, as before. A test's fault tap takes
//     runs where the operator after it does (tapped), so a Runner's
//     chains run the batch path as production does.
//   - A run is never empty, and never longer than the chain's smallest
//     output batch (runLength).
//   - A chain stops only between two runs, never inside one: the brake
//     (output full, urgent mail) is read before each run. So an input
//     batch the chain stops in is held from a run's first record: no
//     operator has seen a record from there on, and Chain.HeldInput stays
//     exact. And once the output waits for credit, the chain ships at
//     most what the rest of one run fills: since every operator emits at
//     most one record per record and a run is no longer than a batch, at
//     most one more batch per channel, and a channel that has no credit
//     holds at most one batch beyond it, as on the per-record path.
//   - A run belongs to whoever emitted it: an operator never keeps it, or
//     writes into it, after its collectBatch returns. An operator that
//     changes the records writes them into a run of its own, reused from
//     one run to the next.

// batchCollector is a Collector that may also take a run of records at
// once (see above); es is only borrowed for the call.
type batchCollector[T any] interface {
	Collector[T]
	// takesRuns reports whether collectBatch may be called: fixed once
	// the operator is open.
	takesRuns() bool
	collectBatch(es []Element[T])
}

// runCollector is what a source's reader emits into: a run of at most
// runLen records at a time.
type runCollector[T any] interface {
	batchCollector[T]
	runLen() int
}

// runBuf returns buf resized to n records, reusing its array when it is
// large enough: an operator writes its run into it by index, which spares
// the capacity check an append per record made on the hottest loops.
func runBuf[T any](buf []Element[T], n int) []Element[T] {
	return slices.Grow(buf[:0], n)[:n]
}

// maxRun is the longest run of records the batch path hands on at once:
// long enough that an operator's cost per call is spread thin, short
// enough that the records of a run stay in the CPU's nearest cache and
// that a chain stopping between runs stops soon.
const maxRun = 16

// runsOf returns c's batch form, or nil if it takes records one by one
// (see takesRuns) or T holds pointers. Records that hold pointers go
// record by record: copying them into an operator's run, on the heap,
// cost more than handing them from call to call. Measured on Nexmark's
// events (three pointers), runs made q0 a seventh slower per event, and
// no faster with the collector off, so the write barriers while it marks
// are not the whole cost (docs/benchmarks.md).
func runsOf[T any](c Collector[T]) batchCollector[T] {
	if !pointerFree(reflect.TypeFor[T]()) {
		return nil
	}
	if b, ok := c.(batchCollector[T]); ok && b.takesRuns() {
		return b
	}
	return nil
}

// pointerFree reports whether values of t hold no pointer the garbage
// collector follows: no string, slice, map, pointer, interface, channel
// or function, at any depth.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// runLength returns how many records a chain hands on in one run: maxRun,
// and no more than batchRecords, the smallest output batch of its routers
// (0: it has none), so that a run fills at most one batch per channel
// (see the invariants above).
func runLength(batchRecords int) int {
	if batchRecords <= 0 {
		return maxRun
	}
	return min(maxRun, batchRecords)
}
