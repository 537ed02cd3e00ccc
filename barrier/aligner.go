package barrier

import "fmt"

// Mode is the checkpointing guarantee an Aligner gives.
type Mode int

const (
	// ExactlyOnce aligns barriers: a channel that delivered barrier n is
	// blocked until n came on every input, so the snapshot holds the
	// effects of exactly the records before barrier n. The zero Mode.
	ExactlyOnce Mode = iota
	// AtLeastOnce never blocks: records after barrier n on a fast channel
	// are processed before the snapshot, and replayed after a restore.
	AtLeastOnce
)

func (m Mode) String() string {
	switch m {
	case ExactlyOnce:
		return "exactly-once"
	case AtLeastOnce:
		return "at-least-once"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Result tells the runtime what to do after an Aligner event, in this
// order: give up checkpoint Cancelled, snapshot checkpoint Snapshot (take
// the snapshot, forward its barrier on every output, ack), resume the
// channels in Unblock, stop consuming the channels in Block, and, for an
// unaligned checkpoint, write the channel state of checkpoint Persisted.
// Snapshotting before unblocking matters: the records queued behind the
// barriers belong to the next epoch.
type Result struct {
	// Cancelled, if not 0, is a checkpoint whose alignment was given up
	// because a newer barrier or a cancel overtook it. The runtime declines
	// it with a reason wrapping ErrSubsumed (not a failure).
	Cancelled int64
	// Snapshot, if not 0, is the checkpoint to snapshot now: its barrier
	// has come on every input that has not ended.
	Snapshot int64
	// Unblock lists the channels to resume, ascending.
	Unblock []int
	// Block lists the channels to stop consuming, ascending; never in
	// AtLeastOnce mode, never for an unaligned checkpoint.
	Block []int
	// Unaligned says that Snapshot is an unaligned checkpoint: its
	// barrier overtakes the data queued on the subtask's outputs (which
	// becomes output channel state), and the data that arrived on the
	// channels in Record before their barrier is input channel state.
	Unaligned bool
	// Record lists, with an unaligned Snapshot, the input channels whose
	// barrier has not come: the data queued on them now, and all that
	// arrives on them until their barrier does (see Recording), is
	// channel state of the checkpoint. Ascending. The data queued ahead
	// of the event's own priority barrier is channel state as well.
	Record []int
	// Persisted, if not 0, is an unaligned checkpoint whose channel state
	// is complete: its barrier has come on every input, or the input
	// ended. The runtime writes the channel state with the snapshot and
	// acks.
	Persisted int64
	// Ignored, if not nil, says why the event changed nothing: it wraps
	// ErrStaleBarrier, ErrBarrierOrder or ErrChannelEnded.
	Ignored error
}

// Aligner aligns the checkpoint barriers of one subtask's input channels,
// numbered 0 to n−1. It is not safe for concurrent use: the subtask's
// actor calls it as it consumes each channel's barriers and end of input,
// in channel order.
type Aligner struct {
	mode      Mode
	last      []int64 // per channel, the newest barrier delivered; 0: none
	ended     []bool
	blocked   []bool
	recording []bool // per channel: its arrivals are channel state of cur
	cur       int64  // newest checkpoint seen: being aligned, snapshotted or cancelled
	aligning  bool   // cur is being aligned
	unaligned bool   // cur is (or became) an unaligned checkpoint
	// persisting: cur was snapshotted unaligned and its channel state is
	// being recorded, until its barrier has come on every input
	persisting bool
}

// NewAligner returns an aligner for n input channels. It panics if n < 1
// or mode is unknown: both are wiring bugs.
func NewAligner(n int, mode Mode) *Aligner {
	if n < 1 || (mode != ExactlyOnce && mode != AtLeastOnce) {
		panic(fmt.Sprintf("barrier: NewAligner(%d, %v): need n ≥ 1 and a known mode", n, mode))
	}
	return &Aligner{mode: mode, last: make([]int64, n), ended: make([]bool, n), blocked: make([]bool, n),
		recording: make([]bool, n)}
}

// OnBarrier handles barrier id (≥ 1) consumed from channel ch, in order
// after the data before it. A barrier newer than the one being aligned
// (or whose channel state is being recorded) cancels that checkpoint and
// starts its own alignment; an older one, or one already snapshotted or
// cancelled, is ignored. A barrier of the unaligned checkpoint being
// recorded ends its channel's recording. It panics if ch is out of range.
func (a *Aligner) OnBarrier(ch int, id int64) Result {
	if r, ok := a.deliver(ch, id); !ok {
		return r
	}
	var r Result
	if id > a.cur {
		r.Cancelled = a.abandon()
		a.cur, a.aligning = id, true
	}
	return a.settle(r)
}

// OnPriorityBarrier handles barrier id (≥ 1) of an unaligned checkpoint
// from channel ch, which overtook the data queued on ch: the runtime
// handles it as it arrives, or took it out of ch's queue when the
// alignment timed out. The first barrier of a checkpoint snapshots at
// once (Result.Unaligned; the data queued ahead of it on ch and the
// channels in Result.Record are channel state); it switches an aligned
// alignment of id to unaligned. A later one ends its channel's
// recording. Older, repeated and cancelled barriers are ignored, as by
// OnBarrier. It panics if ch is out of range.
func (a *Aligner) OnPriorityBarrier(ch int, id int64) Result {
	if r, ok := a.deliver(ch, id); !ok {
		return r
	}
	var r Result
	if id > a.cur {
		r.Cancelled = a.abandon()
		a.cur, a.aligning = id, true
	}
	if a.aligning {
		a.unaligned = true
	}
	return a.settle(r)
}

// SwitchToUnaligned turns the aligned alignment of checkpoint id into an
// unaligned checkpoint: its alignment timed out (Flink's aligned
// checkpoint timeout). The snapshot is taken at once; the channels that
// delivered the barrier are unblocked (what is queued behind it belongs
// to the next epoch) and the others record (Result.Record). An id that
// is not being aligned is ignored with ErrNotAligning.
func (a *Aligner) SwitchToUnaligned(id int64) Result {
	if !a.aligning || id != a.cur || a.unaligned {
		return Result{Ignored: fmt.Errorf("%w: switch of %d, aligning %d", ErrNotAligning, id, a.Aligning())}
	}
	a.unaligned = true
	return a.settle(Result{})
}

// deliver records barrier id on channel ch and reports whether it counts:
// not on an ended channel, newer than ch's last, and not stale.
func (a *Aligner) deliver(ch int, id int64) (Result, bool) {
	a.check(ch)
	switch {
	case a.ended[ch]:
		return Result{Ignored: fmt.Errorf("%w: barrier %d on channel %d", ErrChannelEnded, id, ch)}, false
	case id <= a.last[ch]:
		return Result{Ignored: fmt.Errorf("%w: barrier %d on channel %d after %d", ErrBarrierOrder, id, ch, a.last[ch])}, false
	}
	a.last[ch] = id
	if id < a.cur || (id == a.cur && !a.aligning && !a.persisting) {
		return Result{Ignored: fmt.Errorf("%w: barrier %d on channel %d, current %d", ErrStaleBarrier, id, ch, a.cur)}, false
	}
	return Result{}, true
}

// Expect starts aligning checkpoint id (≥ 1) although no barrier of it has
// come: the runtime triggered the subtask itself, because every sender of
// its inputs has finished and none will send the barrier (each took the
// checkpoint as a finished task). The remaining records come first, then
// the end of input; as an ended channel counts as having delivered the
// barrier, the snapshot comes when the last channel ends, before the
// subtask's own end of input, or at once if every channel has ended. A
// barrier of id that does come blocks its channel as usual. Like a newer
// barrier, it cancels an older alignment; an id not newer than the
// current one is ignored.
func (a *Aligner) Expect(id int64) Result {
	if id <= a.cur {
		return Result{Ignored: fmt.Errorf("%w: expect %d, current %d", ErrStaleBarrier, id, a.cur)}
	}
	r := Result{Cancelled: a.abandon()}
	a.cur, a.aligning = id, true
	return a.settle(r)
}

// OnEndOfInput handles the end of channel ch. An ended channel counts as
// having delivered every later barrier, as in Flink: it can deliver none,
// and waiting for it would stall checkpoints forever. It panics if ch is
// out of range.
func (a *Aligner) OnEndOfInput(ch int) Result {
	a.check(ch)
	if a.ended[ch] {
		return Result{Ignored: fmt.Errorf("%w: end of input on channel %d", ErrChannelEnded, ch)}
	}
	a.ended[ch] = true
	return a.settle(Result{})
}

// Cancel gives up checkpoint id: the coordinator aborted it, or an
// upstream subtask cancelled it. An alignment of id or of an older
// checkpoint, or the recording of its channel state, is cancelled
// (Result.Cancelled), and later barriers of id or older are ignored.
func (a *Aligner) Cancel(id int64) Result {
	if id < a.cur || (id == a.cur && !a.aligning && !a.persisting) {
		return Result{Ignored: fmt.Errorf("%w: cancel of %d, current %d", ErrStaleBarrier, id, a.cur)}
	}
	r := Result{Cancelled: a.abandon()}
	a.cur = id
	return a.settle(r)
}

// Aligning returns the checkpoint being aligned, or 0.
func (a *Aligner) Aligning() int64 {
	if a.aligning {
		return a.cur
	}
	return 0
}

// Blocked reports whether channel ch is blocked.
func (a *Aligner) Blocked(ch int) bool { return a.blocked[ch] }

// Recording returns the unaligned checkpoint whose channel state the data
// arriving on channel ch now belongs to, or 0: ch has not delivered the
// barrier of the checkpoint being recorded (Persisting) and has not
// ended.
func (a *Aligner) Recording(ch int) int64 {
	if a.recording[ch] {
		return a.cur
	}
	return 0
}

// Persisting returns the unaligned checkpoint whose channel state is being
// recorded, or 0.
func (a *Aligner) Persisting() int64 {
	if a.persisting {
		return a.cur
	}
	return 0
}

// Channels returns the number of input channels.
func (a *Aligner) Channels() int { return len(a.last) }

// Mode returns the aligner's mode.
func (a *Aligner) Mode() Mode { return a.mode }

func (a *Aligner) check(ch int) {
	if ch < 0 || ch >= len(a.last) {
		panic(fmt.Sprintf("barrier: channel %d out of range [0, %d)", ch, len(a.last)))
	}
}

// abandon stops the current alignment, or the recording of its channel
// state, and returns its ID, or 0 if none.
func (a *Aligner) abandon() int64 {
	if !a.aligning && !a.persisting {
		return 0
	}
	a.aligning, a.persisting, a.unaligned = false, false, false
	return a.cur
}

// settle snapshots cur if every input delivered it, or at once if it is
// unaligned, then moves the blocked and recording sets to what the state
// demands and reports the difference. Deriving both sets from the state,
// rather than editing them event by event, keeps "blocked ⇔ delivered the
// barrier being aligned" and "recording ⇔ not delivered the barrier whose
// channel state is being recorded" true by construction.
func (a *Aligner) settle(r Result) Result {
	switch {
	case a.aligning && a.unaligned:
		r.Snapshot, r.Unaligned, a.aligning, a.persisting = a.cur, true, false, true
	case a.aligning && a.allDelivered():
		r.Snapshot, a.aligning = a.cur, false
	}
	if a.persisting && a.allDelivered() {
		r.Persisted, a.persisting, a.unaligned = a.cur, false, false
	}
	for ch, was := range a.blocked {
		want := a.mode == ExactlyOnce && a.aligning && !a.ended[ch] && a.last[ch] >= a.cur
		switch {
		case want && !was:
			r.Block = append(r.Block, ch)
		case !want && was:
			r.Unblock = append(r.Unblock, ch)
		}
		a.blocked[ch] = want
	}
	for ch := range a.recording {
		a.recording[ch] = a.persisting && !a.ended[ch] && a.last[ch] < a.cur
		if r.Unaligned && a.recording[ch] { // a channel starts recording only at the snapshot
			r.Record = append(r.Record, ch)
		}
	}
	return r
}

func (a *Aligner) allDelivered() bool {
	for ch, id := range a.last {
		if !a.ended[ch] && id < a.cur {
			return false
		}
	}
	return true
}
