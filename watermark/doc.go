// Package watermark holds the event-time logic of troupe as plain data
// structures: watermark generators per source split, idleness detection,
// the multi-input valve that combines the watermarks of a subtask's input
// channels, and the keyed timer queue behind event-time and
// processing-time timers.
//
// # Model
//
// Times are int64 epoch milliseconds. A record carries an event timestamp;
// a watermark w promises that no more records with a timestamp ≤ w will
// come (records that break the promise are late). [MinWatermark] means
// "nothing known yet" and [MaxWatermark] means "end of input": every
// window and timer may fire.
//
// A source split owns a [Generator] chosen by a [Strategy]. The runtime
// calls Generator.OnEvent for each record and Generator.OnPeriodic every
// Strategy.Interval of processing time, and forwards what they emit. An
// [IdleDetector] tells the runtime when the split has had no records for
// Strategy.IdleTimeout: the split then announces "idle" downstream, so it
// stops holding back the watermark of the subtasks it feeds, and "active"
// before its next record.
//
// A subtask with several input channels feeds each channel's watermarks
// and idle/active announcements into a [Valve], as Flink's
// StatusWatermarkValve does with the channels of one input. Its output,
// forwarded downstream, is the minimum over the active channels that
// have caught up (see the invariants). When every channel is idle the
// valve flushes the highest watermark it has seen and announces "idle"
// itself.
//
// A subtask whose head operator has two logical inputs (connected
// streams, interval joins) has one Valve per input and combines their
// outputs with a [Combined], as Flink's CombinedWatermarkStatus: the
// minimum over the inputs that are not idle, idle when all are — and
// then the highest watermark of any input —, with no catch-up rule
// between inputs. [InputValves] puts the two together. A union is one
// input, whatever the number of streams. A source subtask that reads
// several splits combines their watermarks with a [Combined] too, as
// Flink's per-split watermarks do; [Combined.Remove] takes out a split
// that has ended.
//
// Keyed operators keep their timers in a [TimerQueue] per time domain:
// timers are unique per (key, time) and fire in time order when the
// watermark reaches them, or once processing time has passed them (a
// processing-time timer for T fires at T+1 ms, as in Flink).
// A [GroupedTimerQueue] holds and fires the same timers, kept by key
// group instead of by time, for timers that move (session windows).
//
// # Invariants
//
//   - Watermarks never go backwards: a generator emits only watermarks
//     above the last it emitted; a valve ignores a watermark on a channel
//     that is not above that channel's previous one, and its output never
//     decreases.
//   - The valve's output is never above the highest watermark it was
//     given, and nothing is emitted before every active channel has sent a
//     watermark.
//   - An idle channel does not hold the output back. A channel that
//     returns from idleness counts again only once its watermark is ≥ the
//     output ("aligned"); until then the output follows the other channels,
//     and nothing is emitted when no active channel is aligned.
//   - Whenever some channel is aligned, the output equals the minimum
//     watermark of the aligned channels: the minimum is re-computed on
//     every watermark, idle and active announcement, so a channel that
//     returns already caught up counts at once.
//   - When the last active channel goes idle, the output becomes the
//     highest watermark seen on any channel, if higher, whatever the
//     order in which the channels went idle: every channel has promised
//     its watermark, and nothing active is left to hold the output back.
//     So a channel that returns from all-idle is never above the output,
//     and a returning channel never advances the output in the change
//     that makes the output active again (downstream would drop that
//     watermark: it still holds this subtask idle).
//   - These two are the rules of Flink's StatusWatermarkValve since
//     FLINK-40475 (merged in August 2026); before it, Flink's valve waited for the
//     next watermark to count a channel returning caught up, and flushed
//     only if the last channel to go idle was at the output.
//   - Between the inputs of a two-input operator ([Combined]) the output
//     is the highest value that the minimum over the active inputs has
//     reached: an input that returns from idleness below the output
//     holds it there until it passes it. When every input is idle the
//     output is the highest watermark of any input (Flink's
//     CombinedWatermarkStatus since FLINK-38454).
//   - A timer queue holds each (key, time) at most once; timers fire in
//     time order, ties in registration order.
//
// Nothing here starts goroutines, does I/O or reads the clock: the
// runtime passes processing time in. No type is safe for concurrent use;
// each belongs to one subtask and is called from its goroutine only. The
// package imports the standard library only.
package watermark
