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
// and idle/active announcements into a [Valve]. Its output, forwarded
// downstream, is the minimum over the active channels that have caught up
// (see the invariants). When every channel is idle the valve emits the
// highest watermark it has seen and announces "idle" itself.
//
// Keyed operators keep their timers in a [TimerQueue] per time domain:
// timers are unique per (key, time) and fire in time order when the
// watermark (or processing time) reaches them.
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
//     watermark of the aligned channels. (Flink's StatusWatermarkValve
//     re-computes the minimum only on a watermark or an idle announcement,
//     so a channel that returns already caught up may wait for the next
//     watermark; we re-compute on activation too, keeping this invariant.)
//   - When the last active channel goes idle, the output becomes the
//     highest watermark seen on any channel, if higher. (Flink does so only
//     when the last channel's watermark equals the output; we always do,
//     which is what "flush when nothing can advance any more" means.)
//   - A timer queue holds each (key, time) at most once; timers fire in
//     time order, ties in registration order.
//
// Nothing here starts goroutines, does I/O or reads the clock: the
// runtime passes processing time in. No type is safe for concurrent use;
// each belongs to one subtask and is called from its goroutine only. The
// package imports the standard library only.
package watermark
