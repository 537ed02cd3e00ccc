// Package barrier holds the pure logic of Chandy–Lamport checkpoints: the
// checkpoint [Coordinator] of a job, a state machine, and the [Aligner]
// that aligns barriers across the input channels of one subtask. It
// imports the standard library only, starts no goroutines, does no I/O and
// never reads the clock: every event takes the current time as a
// parameter, so tests drive time by hand.
//
// # Model
//
// The runtime feeds events in and carries out what comes back. For the
// coordinator, events are Tick (periodic trigger and timeouts), TriggerNow
// (user checkpoints and savepoints), Ack, Decline, MetadataWritten and
// Reset, plus Suspend and Resume of the periodic checkpoints (a stop with
// savepoint); each returns a list of [Action]s: [Trigger] the sources,
// [WriteMetadata], [NotifyComplete] every subtask, [LateComplete] (a
// savepoint completed after a newer checkpoint), [Abort] a checkpoint,
// [FailJob].
//
// A checkpoint's life: Trigger(n) goes to the sources; each task acks n
// with a state handle once its snapshot is written; after the last ack the
// coordinator asks for WriteMetadata(n); the runtime writes the metadata
// atomically and reports with MetadataWritten. Only a successful write
// completes n, and only then does NotifyComplete(n) go out. Once the write
// has started, its outcome alone decides n (durable metadata is a complete
// checkpoint, as in Flink). Before that, a timeout or a decline aborts n;
// either, or a failed write, counts a consecutive failure;
// more than Config.TolerableFailures of them in a row give FailJob. The
// runtime restarts the job and calls Reset.
//
// An aligner gets OnBarrier(ch, n) and OnEndOfInput(ch) as the subtask
// consumes them, and Cancel(n) when checkpoint n was aborted. Each returns
// a [Result]: channels to block and unblock, a checkpoint to snapshot now,
// an alignment given up. In [ExactlyOnce] mode a channel that delivered
// barrier n is blocked until n has come on every input; in [AtLeastOnce]
// mode nothing is blocked and the snapshot is taken when the last barrier
// n arrives. With a single input the snapshot is immediate either way.
//
// Unaligned checkpoints (Flink's FLIP-76): OnPriorityBarrier(ch, n) is a
// barrier that overtook the data queued ahead of it, handled as it
// arrives. The first one of n snapshots at once (Result.Unaligned); the
// channels whose barrier n has not come record what arrives on them
// (Result.Record, Recording) until it does, and Result.Persisted says
// when that channel state is complete. SwitchToUnaligned(n) turns an
// aligned alignment that took too long into an unaligned checkpoint (the
// aligned checkpoint timeout).
//
// # Invariants
//
//   - Checkpoint IDs are never reused: each trigger takes the next ID,
//     including across Reset (Config.FirstID carries them across runs).
//   - A checkpoint is complete only once every task acked it and its
//     metadata write succeeded; a checkpoint whose write succeeded is
//     complete, and no event aborts one whose write is in flight.
//   - Completing n subsumes every older pending checkpoint (savepoints and
//     those being written excepted; they complete late, with
//     LateComplete), so NotifyComplete IDs strictly increase and some IDs are
//     never notified: a subtask treats NotifyComplete(n) as completing
//     everything up to n, and a sink commits every epoch ≤ n.
//   - At most Config.MaxConcurrent checkpoints are pending, savepoints not
//     counted; with Config.MinPause > 0, at most one.
//   - A late, duplicate or unknown message is refused with an error and
//     changes nothing; nothing in this package panics on the runtime's
//     messages, only on wiring bugs (a channel index out of range).
//   - An aligner's snapshot IDs strictly increase. A blocked channel is
//     always one that delivered the barrier being aligned, so a snapshot or
//     a cancel leaves no channel blocked for the old checkpoint. A newer
//     barrier cancels the alignment of an older one, and an ended channel
//     counts as having delivered every later barrier.
//   - A channel records only between the unaligned snapshot of a
//     checkpoint and the arrival of its barrier (or its end), and is never
//     blocked then; a newer barrier gives up the recording (Cancelled).
//
// Neither type is safe for concurrent use: each is owned by one actor.
package barrier
