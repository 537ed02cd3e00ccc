package barrier

// Action is one thing the runtime must do. The Coordinator's events return
// them in the order to carry them out. Its concrete type is one of Trigger,
// WriteMetadata, NotifyComplete, LateComplete, Abort and FailJob.
type Action interface{ action() }

// Trigger asks the runtime to send checkpoint ID's trigger to every source:
// each records its read position, snapshots, emits barrier ID on all its
// outputs and acks.
type Trigger struct {
	ID        int64
	Savepoint bool
	Sources   []TaskID // a copy the runtime may keep
}

// WriteMetadata says every task acked checkpoint ID: the runtime writes its
// metadata (the handles) atomically, then reports the outcome with
// Coordinator.MetadataWritten. The checkpoint is complete only if that
// write succeeded.
type WriteMetadata struct {
	ID        int64
	Savepoint bool
	Handles   map[TaskID]any // each task's state handle, as acked
}

// NotifyComplete asks the runtime to tell every subtask that checkpoint ID
// is complete, best effort. Notices are subsuming and may be skipped: IDs
// only increase, and a receiver treats ID as completing every checkpoint up
// to ID (a two-phase-commit sink commits every epoch ≤ ID).
type NotifyComplete struct {
	ID int64
}

// LateComplete says checkpoint ID completed (its metadata is durable)
// after a newer checkpoint had completed: only a savepoint, which is never
// subsumed, or a checkpoint whose metadata write outlived a newer one's,
// does that. It is complete and restorable, so the runtime records it and
// gives a savepoint's caller its path; but it tells no subtask, since
// every one already heard of a newer completion, which subsumes it.
type LateComplete struct {
	ID        int64
	Savepoint bool
}

// Abort says checkpoint ID ended without completing. The runtime discards
// the state in Handles (the acks received), and may tell the subtasks so
// that they give up its alignment (Aligner.Cancel). A sink must not discard
// the output of epoch ID: the next completed checkpoint commits it.
type Abort struct {
	ID        int64
	Savepoint bool
	Reason    error          // wraps ErrTimeout, ErrDeclined, ErrMetadataWrite, ErrSubsumed or ErrReset
	Handles   map[TaskID]any // the acks received, to discard
}

// FailJob says the job must fail over: more consecutive checkpoint failures
// than Config.TolerableFailures. The Coordinator triggers nothing more
// until Reset, which the runtime calls when it restarts the job.
type FailJob struct {
	Reason error // wraps ErrTooManyFailures and the last failure's reason
}

func (Trigger) action()        {}
func (WriteMetadata) action()  {}
func (NotifyComplete) action() {}
func (LateComplete) action()   {}
func (Abort) action()          {}
func (FailJob) action()        {}

var (
	_ Action = Trigger{}
	_ Action = WriteMetadata{}
	_ Action = NotifyComplete{}
	_ Action = LateComplete{}
	_ Action = Abort{}
	_ Action = FailJob{}
)
