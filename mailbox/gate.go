package mailbox

// OutputGate tracks the credits of a subtask's output channels and queues
// what cannot be sent yet. M is the message type the runtime sends.
//
// A priority message (OfferPriority: an unaligned checkpoint's barrier)
// overtakes what is queued and may go without credit, overdrawing the
// channel by one: a channel's credits are never below −1, so at most one
// message beyond the receiver's window is ever in flight on it, and the
// receiver, which never queues a priority message, returns its credit
// once it has handled it.
type OutputGate[M any] struct {
	credits  []int
	pending  []Queue[M]
	priority []Queue[M] // per channel: priority messages waiting to repay an overdraft
	queued   int
}

// NewOutputGate returns a gate for n channels, each starting with window
// credits (the receiver's initial grant).
func NewOutputGate[M any](n, window int) *OutputGate[M] {
	g := &OutputGate[M]{credits: make([]int, n), pending: make([]Queue[M], n), priority: make([]Queue[M], n)}
	for i := range g.credits {
		g.credits[i] = window
	}
	return g
}

// Offer asks to send m on channel ch. It returns true, consuming a credit,
// when m may be sent now; otherwise m is queued behind the channel's earlier
// messages and false is returned.
func (g *OutputGate[M]) Offer(ch int, m M) bool {
	if g.credits[ch] > 0 && g.pending[ch].Len() == 0 {
		g.credits[ch]--
		return true
	}
	g.pending[ch].Push(m)
	g.queued++
	return false
}

// OfferPriority asks to send m on channel ch ahead of every message
// queued there. It returns true, taking a credit or overdrawing the
// channel to −1, when m may be sent now; if the channel is overdrawn
// already, m waits ahead of the queued messages for the next credit, and
// false is returned.
func (g *OutputGate[M]) OfferPriority(ch int, m M) bool {
	if g.credits[ch] >= 0 && g.priority[ch].Len() == 0 {
		g.credits[ch]--
		return true
	}
	g.priority[ch].Push(m)
	g.queued++
	return false
}

// Grant adds n credits to channel ch and calls send for every queued
// message they release, in order, priority messages first.
func (g *OutputGate[M]) Grant(ch, n int, send func(M)) {
	g.credits[ch] += n
	for g.credits[ch] > 0 && g.priority[ch].Len() > 0 {
		g.credits[ch]--
		g.queued--
		send(g.priority[ch].Pop())
	}
	for g.credits[ch] > 0 && g.pending[ch].Len() > 0 {
		g.credits[ch]--
		g.queued--
		send(g.pending[ch].Pop())
	}
}

// Pending returns how many messages of channel ch wait for credit (not
// counting priority messages).
func (g *OutputGate[M]) Pending(ch int) int { return g.pending[ch].Len() }

// PendingAt returns the i-th message waiting on channel ch, oldest first.
func (g *OutputGate[M]) PendingAt(ch, i int) M { return g.pending[ch].At(i) }

// RemovePending takes the i-th waiting message of channel ch out of the
// queue and returns it (the runtime sends it as a priority message).
func (g *OutputGate[M]) RemovePending(ch, i int) M {
	g.queued--
	return g.pending[ch].RemoveAt(i)
}

// Blocked reports whether any message waits for credit: the subtask must
// then stop consuming input, which propagates backpressure upstream.
func (g *OutputGate[M]) Blocked() bool { return g.queued > 0 }

// Queued returns how many messages wait for credit.
func (g *OutputGate[M]) Queued() int { return g.queued }

// Credits returns the credits channel ch holds now.
func (g *OutputGate[M]) Credits(ch int) int { return g.credits[ch] }

// Channels returns the number of channels.
func (g *OutputGate[M]) Channels() int { return len(g.credits) }

// InputGate queues the batches that arrived on a subtask's input channels
// until the subtask consumes them, and picks the next one fairly.
type InputGate[M any] struct {
	window    int
	queues    []Queue[M]
	blocked   []bool
	recovered []int // per channel: recovered messages at the head of its queue
	queued    int
	next      int
}

// NewInputGate returns a gate for n channels, each granted window credits.
func NewInputGate[M any](n, window int) *InputGate[M] {
	return &InputGate[M]{window: window, queues: make([]Queue[M], n), blocked: make([]bool, n), recovered: make([]int, n)}
}

// Push queues a batch that arrived on channel ch.
func (g *InputGate[M]) Push(ch int, m M) error {
	if g.queues[ch].Len()-g.recovered[ch] >= g.window {
		return ErrCreditViolation
	}
	g.queues[ch].Push(m)
	g.queued++
	return nil
}

// PushRecovered queues a message restored from a checkpoint (an unaligned
// checkpoint's input channel state) on channel ch, before anything
// arrives on it: it is consumed first and holds none of the channel's
// credits, since its sender never sent it in this run. The caller must
// not return a credit for it either.
func (g *InputGate[M]) PushRecovered(ch int, m M) {
	g.queues[ch].Push(m)
	g.recovered[ch]++
	g.queued++
}

// Next returns the next batch to consume, choosing round robin among the
// channels that have one and are not blocked. The caller owes the sender of
// channel ch one credit once it has consumed the batch.
func (g *InputGate[M]) Next() (ch int, m M, ok bool) {
	n := len(g.queues)
	for i := range n {
		c := (g.next + i) % n
		if !g.blocked[c] && g.queues[c].Len() > 0 {
			g.next = (c + 1) % n
			g.queued--
			if g.recovered[c] > 0 {
				g.recovered[c]--
			}
			return c, g.queues[c].Pop(), true
		}
	}
	return 0, m, false
}

// SetBlocked stops (or resumes) consuming channel ch; its batches stay
// queued and its sender gets no credit meanwhile (barrier alignment).
func (g *InputGate[M]) SetBlocked(ch int, blocked bool) { g.blocked[ch] = blocked }

// Queued returns how many batches wait in all channels.
func (g *InputGate[M]) Queued() int { return g.queued }

// Len returns how many messages wait on channel ch.
func (g *InputGate[M]) Len(ch int) int { return g.queues[ch].Len() }

// At returns the i-th message waiting on channel ch, oldest first.
func (g *InputGate[M]) At(ch, i int) M { return g.queues[ch].At(i) }

// RemoveAt takes the i-th waiting message of channel ch out of its queue
// and returns it: a barrier that overtakes the data before it.
func (g *InputGate[M]) RemoveAt(ch, i int) M {
	g.queued--
	if i < g.recovered[ch] {
		g.recovered[ch]--
	}
	return g.queues[ch].RemoveAt(i)
}

// Channels returns the number of channels.
func (g *InputGate[M]) Channels() int { return len(g.queues) }

// Window returns the credits granted per channel.
func (g *InputGate[M]) Window() int { return g.window }

// Bound returns the most messages a subtask's mailbox can hold: a window of
// batches per input channel, a window of credit messages per output
// channel, plus extra for the subtask's own control messages.
func Bound(inputs, outputs, window, extra int) int {
	return (inputs+outputs)*window + extra
}
