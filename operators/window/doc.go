// Package window holds the logic of troupe's window operator as plain
// values: windows, the assigners that put records into them, the merging
// of session windows, triggers as pure decisions, lateness and cleanup
// arithmetic, and evictors. The operator in package operators adapts them
// to keyed state and timers; nothing here knows about either.
//
// # Basics
//
// Times are int64 epoch milliseconds, event time or processing time. A
// [Window] is the half-open interval [Start, End): it holds Start ≤ ts <
// End and its last timestamp, [Window.MaxTimestamp], is End-1. Durations
// given by users (sizes, slides, offsets, gaps, allowed lateness) are
// time.Duration and must be whole milliseconds; the per-record helpers
// ([IsLate], [IsElementLate], [CleanupTime]) take milliseconds, as the
// watermark does.
//
// An [Assigner] gives each record's timestamp its windows: one for
// [Tumbling], about size/slide for [Sliding], [ts, ts+gap) for [Session]
// (and [DynamicSession], whose gap comes from the record, through
// [ElementAssigner]), and [GlobalWindow] for [Global]. Windows of
// tumbling and sliding assigners start at offset + k·period for every
// integer k, which for a timestamp ts is
//
//	start = ts - ((ts - offset) mod period + period) mod period
//
// computed without overflow, so negative timestamps (before 1970) get the
// same windows as positive ones: -1 lies in [-size, 0).
//
// Session windows merge: for each key the operator keeps a [MergingSet],
// which merges windows that overlap or touch and remembers, for each
// active window, the state window its contents are stored under.
//
// A [Trigger] decides when a window fires ([TriggerResult]); it reads
// time and sets timers and a per-window counter through a
// [TriggerContext] that the operator implements. An [Evictor] removes
// records from a window when it fires, before or after the window
// function, by count ([CountEvictor]) or timestamp ([TimeEvictor]); an
// [ElementEvictor] also by value ([DeltaEvictor]). Count windows
// ([CountWindow], [SlidingCountWindow]) are the global window with a
// count trigger and, when sliding, an evictor; [Global] never fires by
// itself, [GlobalWithEndOfStreamTrigger] fires once at the end of input.
//
// # Late records
//
// A record is late when ts + allowed lateness ≤ watermark
// ([IsElementLate]); a window is late when its last timestamp + allowed
// lateness ≤ watermark ([IsLate]), its cleanup time ([CleanupTime]). The
// operator skips a record's late windows and sends the record to the late
// side output when it had no other window; a record behind the watermark
// whose window is not late is added to it, and [EventTimeTrigger] fires
// the window again at once if it has already fired. A window's state is
// cleared at its cleanup time.
//
// # Invariants
//
//   - Every window an assigner returns for ts contains ts, and no two are
//     equal.
//   - Arithmetic saturates instead of wrapping: a window whose start or
//     end would overflow int64 starts at math.MinInt64 or ends at
//     math.MaxInt64, and End == math.MaxInt64 means "to the end of time":
//     such a window holds math.MaxInt64, fires only at end of input and,
//     like [GlobalWindow], has no cleanup time ([NoCleanup]).
//   - The active windows of a MergingSet never overlap nor touch, and
//     together cover every window added and not removed.
//   - Results depend only on inputs: no maps are iterated, no clock read.
//
// # Caveats
//
// Nothing here starts goroutines, does I/O or reads the clock, and no
// type is safe for concurrent use: each value belongs to one subtask. The
// assigners and triggers are immutable and may be shared. The package
// imports the standard library only.
package window
