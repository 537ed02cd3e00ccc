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
// channels in Unblock, stop consuming the channels in Block. Snapshotting
// before unblocking matters: the records queued behind the barriers belong
// to the next epoch.
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
	// AtLeastOnce mode.
	Block []int
	// Ignored, if not nil, says why the event changed nothing: it wraps
	// ErrStaleBarrier, ErrBarrierOrder or ErrChannelEnded.
	Ignored error
}

// Aligner aligns the checkpoint barriers of one subtask's input channels,
// numbered 0 to n−1. It is not safe for concurrent use: the subtask's
// actor calls it as it consumes each channel's barriers and end of input,
// in channel order.
type Aligner struct {
	mode     Mode
	last     []int64 // per channel, the newest barrier delivered; 0: none
	ended    []bool
	blocked  []bool
	cur      int64 // newest checkpoint seen: being aligned, snapshotted or cancelled
	aligning bool  // cur is being aligned
}

// NewAligner returns an aligner for n input channels. It panics if n < 1
// or mode is unknown: both are wiring bugs.
func NewAligner(n int, mode Mode) *Aligner {
	if n < 1 || (mode != ExactlyOnce && mode != AtLeastOnce) {
		panic(fmt.Sprintf("barrier: NewAligner(%d, %v): need n ≥ 1 and a known mode", n, mode))
	}
	return &Aligner{mode: mode, last: make([]int64, n), ended: make([]bool, n), blocked: make([]bool, n)}
}

// OnBarrier handles barrier id (≥ 1) consumed from channel ch. A barrier
// newer than the one being aligned cancels that alignment and starts its
// own; an older one, or one already snapshotted or cancelled, is ignored.
// It panics if ch is out of range.
func (a *Aligner) OnBarrier(ch int, id int64) Result {
	a.check(ch)
	switch {
	case a.ended[ch]:
		return Result{Ignored: fmt.Errorf("%w: barrier %d on channel %d", ErrChannelEnded, id, ch)}
	case id <= a.last[ch]:
		return Result{Ignored: fmt.Errorf("%w: barrier %d on channel %d after %d", ErrBarrierOrder, id, ch, a.last[ch])}
	}
	a.last[ch] = id
	if id < a.cur || (id == a.cur && !a.aligning) {
		return Result{Ignored: fmt.Errorf("%w: barrier %d on channel %d, current %d", ErrStaleBarrier, id, ch, a.cur)}
	}
	var r Result
	if id > a.cur {
		r.Cancelled = a.abandon()
		a.cur, a.aligning = id, true
	}
	return a.settle(r)
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
// checkpoint is cancelled (Result.Cancelled), and later barriers of id or
// older are ignored.
func (a *Aligner) Cancel(id int64) Result {
	if id < a.cur || (id == a.cur && !a.aligning) {
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

// Channels returns the number of input channels.
func (a *Aligner) Channels() int { return len(a.last) }

// Mode returns the aligner's mode.
func (a *Aligner) Mode() Mode { return a.mode }

func (a *Aligner) check(ch int) {
	if ch < 0 || ch >= len(a.last) {
		panic(fmt.Sprintf("barrier: channel %d out of range [0, %d)", ch, len(a.last)))
	}
}

// abandon stops the current alignment and returns its ID, or 0 if none.
func (a *Aligner) abandon() int64 {
	if !a.aligning {
		return 0
	}
	a.aligning = false
	return a.cur
}

// settle snapshots cur if every input delivered it, then moves the blocked
// set to what the state demands and reports the difference. Deriving the
// blocked set from the state, rather than editing it event by event, keeps
// "blocked ⇔ delivered the barrier being aligned" true by construction.
func (a *Aligner) settle(r Result) Result {
	if a.aligning && a.allDelivered() {
		r.Snapshot, a.aligning = a.cur, false
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
