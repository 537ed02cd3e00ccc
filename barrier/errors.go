package barrier

import "errors"

// Configuration.
var (
	// ErrConfig is returned by NewCoordinator for an invalid Config; the
	// wrapping error names the field.
	ErrConfig = errors.New("barrier: invalid config")
)

// Events the Coordinator rejects. A rejected event changes nothing; the
// runtime logs it and, for an ack, discards the state handle it carried.
var (
	// ErrUnknownTask is returned by Ack and Decline for a task that is not
	// in Config.Tasks.
	ErrUnknownTask = errors.New("barrier: unknown task")
	// ErrUnknownCheckpoint is returned for an ID that was never triggered.
	ErrUnknownCheckpoint = errors.New("barrier: unknown checkpoint")
	// ErrCheckpointEnded is returned for a checkpoint that was triggered
	// but has already completed or been aborted (timed out, declined,
	// subsumed, reset): a late message. After MetadataWritten, it means
	// the metadata just written belongs to no checkpoint and may be deleted.
	ErrCheckpointEnded = errors.New("barrier: checkpoint already ended")
	// ErrDuplicateAck is returned by Ack for a task that already acked the
	// checkpoint; the first ack's handle is kept.
	ErrDuplicateAck = errors.New("barrier: duplicate ack")
	// ErrMetadataWriting is returned by Decline for a checkpoint whose
	// metadata is being written: every task has acked it, and only the
	// write's outcome (MetadataWritten) ends it.
	ErrMetadataWriting = errors.New("barrier: checkpoint metadata being written")
	// ErrNotAcknowledged is returned by MetadataWritten for a checkpoint
	// whose WriteMetadata was never issued (not every task has acked).
	ErrNotAcknowledged = errors.New("barrier: checkpoint not acknowledged by every task")
)

// Why TriggerNow refuses a checkpoint.
var (
	// ErrMaxConcurrent is returned by TriggerNow for a checkpoint while
	// Config.MaxConcurrent checkpoints are pending.
	ErrMaxConcurrent = errors.New("barrier: too many checkpoints pending")
	// ErrMinPause is returned by TriggerNow for a checkpoint while a
	// checkpoint is pending or Config.MinPause has not passed since the
	// last one ended (only when MinPause > 0).
	ErrMinPause = errors.New("barrier: too soon after the previous checkpoint")
	// ErrJobFailing is returned by TriggerNow after FailJob and until Reset.
	ErrJobFailing = errors.New("barrier: job is failing over")
)

// Reasons in Abort and FailJob, to test with errors.Is.
var (
	// ErrTimeout: the checkpoint was pending longer than Config.Timeout.
	ErrTimeout = errors.New("barrier: checkpoint timed out")
	// ErrDeclined: a task declined the checkpoint; the task's reason is
	// wrapped too.
	ErrDeclined = errors.New("barrier: checkpoint declined")
	// ErrMetadataWrite: the runtime reported that writing the metadata
	// failed; its error is wrapped too.
	ErrMetadataWrite = errors.New("barrier: checkpoint metadata write failed")
	// ErrSubsumed: a newer checkpoint completed first. Not a failure. A task
	// that gives up a checkpoint because a newer barrier overtook it (see
	// Result.Cancelled) declines with a reason wrapping ErrSubsumed, which
	// is not counted as a failure either.
	ErrSubsumed = errors.New("barrier: checkpoint subsumed")
	// ErrReset: the job is restarting (Coordinator.Reset). Not a failure.
	ErrReset = errors.New("barrier: checkpoint aborted by a job reset")
	// ErrTooManyFailures is the reason of FailJob: more consecutive
	// checkpoint failures than Config.TolerableFailures.
	ErrTooManyFailures = errors.New("barrier: too many consecutive checkpoint failures")
)

// Why the Aligner ignored an event (Result.Ignored).
var (
	// ErrChannelEnded: a barrier or end of input on a channel that already
	// ended.
	ErrChannelEnded = errors.New("barrier: channel already ended")
	// ErrBarrierOrder: a barrier whose ID is not above the last one on its
	// channel; FIFO channels never do that, so it is a sender bug.
	ErrBarrierOrder = errors.New("barrier: barrier out of order on its channel")
	// ErrStaleBarrier: a barrier or cancel for a checkpoint older than, or
	// as old as, one already snapshotted or cancelled.
	ErrStaleBarrier = errors.New("barrier: barrier older than the current checkpoint")
	// ErrNotAligning: SwitchToUnaligned for a checkpoint that is not being
	// aligned (already snapshotted, cancelled, unaligned, or not begun).
	ErrNotAligning = errors.New("barrier: checkpoint not being aligned")
)
