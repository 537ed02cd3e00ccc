package operators

import (
	"fmt"

	"github.com/troupe-dev/troupe/persistence"
)

// A chain stops between two records, for one of two reasons: its output
// waits for credit (ChainConfig.OutputFull), or the runtime has urgent
// mail to read first (ChainConfig.Urgent). Either way it holds the rest
// of what it was feeding in — the rest of an input batch (Consume), or
// the records and events a source's reader emitted in its poll — and
// goes on from there when the runtime calls Resume. One mechanism serves
// both: what the runtime must know is only that the chain holds records
// (Pending), and, for an unaligned checkpoint, which input records they
// are (HeldInput). A source's poll stops only for credit: a source reads
// its mailbox between two polls anyway (one poll per pump message), so
// urgent mail waits for one poll at most.

// brake is what a chain reads between two records to know whether to
// stop there.
type brake struct {
	// full is whether the output waits for credit, as of the chain's last
	// entry from the runtime or its last ship: the only times it can
	// change while the chain runs, so that the check before each record
	// is a load, not a call.
	full       bool
	outputFull func() bool // ChainConfig.OutputFull; nil: never full
	urgent     func() bool // ChainConfig.Urgent; nil: never
	// onFull is told when a refresh finds the output full: the chain's
	// source, if any, then holds what its reader emits next (it tests
	// nothing per record; see countingCollector)
	onFull func()
	// run is how many records the chain hands on at once on its batch
	// path (see batch_path.go); 0: maxRun
	run int
}

// runLen returns how many records the chain hands on at once.
func (b *brake) runLen() int {
	if b.run <= 0 {
		return maxRun
	}
	return b.run
}

// yieldEvery is how many records a chain feeds in between two questions
// to the runtime whether urgent mail waits: often enough for a slow
// operator to read its mailbox within a few records, rarely enough to
// cost nothing on a fast path.
const yieldEvery = 8

// refresh reads whether the output waits for credit.
func (b *brake) refresh() {
	b.full = b.outputFull != nil && b.outputFull()
	if b.full && b.onFull != nil {
		b.onFull()
	}
}

// urgentNow asks the runtime whether urgent mail waits.
func (b *brake) urgentNow() bool { return b.urgent != nil && b.urgent() }

// watchedShipper is the runtime's Shipper, after which the chain reads
// whether its output is full: only shipping fills it.
type watchedShipper struct {
	Shipper
	b *brake
}

func (s watchedShipper) Ship(ch int, batch any) {
	s.Shipper.Ship(ch, batch)
	s.b.refresh()
}

func (s watchedShipper) ShipEvent(ch int, ev Event) {
	s.Shipper.ShipEvent(ch, ev)
	s.b.refresh()
}

// heldBatch is an input batch the chain stopped in: its records from
// next on have not gone in yet.
type heldBatch struct {
	ch    int
	batch any // nil: none
	next  int
}

// outputHolder is implemented by operators that emit other than for an
// input record they are handed: timers that a watermark or the clock
// fires (windows, keyed process functions), results of async calls as
// they come back. They too stop between two emissions once the chain's
// output waits for credit (outputWaits), holding the rest — the timers
// not fired yet, the results not emitted yet — so that what waits for
// credit stays within one emission's output; the chain then holds
// records (Pending) and Resume goes on with them, before any more input.
//
// What they hold is in their state already (timers, async I/O's
// ledger), and what they emitted is not: a snapshot taken meanwhile,
// aligned or not, is consistent without waiting for them.
type outputHolder interface {
	holdingOutput() bool
	// resumeOutput emits what is held, in order, until the output waits
	// for credit again; it reports whether nothing is held any more.
	resumeOutput() bool
}

// outputWaits reports whether the chain's output waits for credit, as
// of the chain's last entry or ship (see brake.full): an operator that
// emits other than per input record stops there (outputHolder). Outside
// a chain: never.
func (tc *TaskContext) outputWaits() bool { return tc.brake != nil && tc.brake.full }

// braked reports whether the operator runs in a chain whose output can
// wait for credit (ChainConfig.OutputFull).
func (tc *TaskContext) braked() bool { return tc.brake != nil && tc.brake.outputFull != nil }

// operatorsHolding reports whether an operator holds output
// (outputHolder).
func (c *Chain) operatorsHolding() bool {
	for _, h := range c.hooks {
		if o, ok := h.(outputHolder); ok && o.holdingOutput() {
			return true
		}
	}
	return false
}

// resumeOperators lets the operators that hold output emit it, tail
// first: what an operator holds was made before what the operators
// before it still hold. It reports whether none holds any more.
func (c *Chain) resumeOperators() bool {
	for i := len(c.hooks) - 1; i >= 0; i-- {
		if o, ok := c.hooks[i].(outputHolder); ok && o.holdingOutput() && !o.resumeOutput() {
			return false
		}
	}
	return !c.operatorsHolding()
}

// Consume feeds a batch that arrived on input channel ch through the
// chain. It reports whether every record went in: false when the chain
// stopped between two records first, because its output filled up
// (ChainConfig.OutputFull) or urgent mail waits (ChainConfig.Urgent).
// The chain then holds the rest of the batch, which Resume feeds in;
// meanwhile the runtime must not call Consume again. Once every record
// has gone in, the batch belongs to the chain again (it is reused).
func (c *Chain) Consume(ch int, batch any) (done bool) {
	c.brake.refresh()
	next, done := c.consume[ch](batch, 0)
	if !done {
		c.held = heldBatch{ch: ch, batch: batch, next: next}
	}
	return done
}

// Resume goes on with what the chain stopped in: first the output its
// operators hold (outputHolder), then the rest of an input batch
// (Consume), or the records and events a source's poll emitted after
// that point, in order. It reports whether nothing is held any
// more; false: it stopped again (the output filled up again, or urgent
// mail waits).
func (c *Chain) Resume() (done bool) {
	c.brake.refresh()
	if !c.resumeOperators() {
		return false
	}
	if c.held.batch != nil {
		next, done := c.consume[c.held.ch](c.held.batch, c.held.next)
		if !done {
			c.held.next = next
			return false
		}
		c.held = heldBatch{}
	}
	if h, ok := c.Source.(holder); ok {
		return h.release()
	}
	return true
}

// Pending reports whether the chain holds records it stopped feeding in
// (see Resume). A source is not polled, and the chain not ended, until
// they have gone in; a source's chain is not ready to snapshot either
// (PrepareSnapshot).
func (c *Chain) Pending() bool {
	if c.held.batch != nil || c.operatorsHolding() {
		return true
	}
	return c.sourceHolding()
}

// HeldInput returns the input batch the chain stopped in (Consume), its
// input channel, and the index of its first record not fed in yet; ok is
// false when the chain holds no input batch. Those records have not
// reached an operator, so no snapshot covers them: an unaligned
// checkpoint whose barrier overtakes them stores them as the channel's
// in-flight data (VertexEdge.EncodeBatchFrom of the batch from next),
// while an aligned barrier on that channel comes after them and cannot
// be taken before they have gone in.
func (c *Chain) HeldInput() (ch int, batch any, next int, ok bool) {
	h := c.held
	return h.ch, h.batch, h.next, h.batch != nil
}

// sourceHolding reports whether the chain's source holds records of its
// poll.
func (c *Chain) sourceHolding() bool {
	h, ok := c.Source.(holder)
	return ok && h.holding()
}

// HeldSource returns the rest of the poll the chain's source holds —
// records, and the watermarks and stream statuses between them, in
// order — as channel entries, its records encoded in the source
// stream's codec; nil when it holds nothing. The reader's position
// counts those records and no operator has seen them, so an unaligned
// checkpoint stores them as the source's in-flight data
// (persistence.ChannelState.Source) instead of waiting until they have
// gone in (PrepareUnalignedSnapshot), and a restore gives them back
// (RestoreHeldSource). It fails with ErrHeldEvent if the source holds an
// event a test's source emitted, and with ErrLossyJSON if its records
// are on the default JSON codec and JSON would not round-trip their type.
func (c *Chain) HeldSource() ([]persistence.ChannelEntry, error) {
	h, ok := c.Source.(holder)
	if !ok || !h.holding() {
		return nil, nil
	}
	return h.heldEntries()
}

// RestoreHeldSource gives the chain's source back what it held at an
// unaligned checkpoint (HeldSource): the chain then holds it (Pending),
// and Resume feeds it in, ahead of anything the source polls next. An
// error wraps ErrRestore.
func (c *Chain) RestoreHeldSource(entries []persistence.ChannelEntry) error {
	if len(entries) == 0 {
		return nil
	}
	h, ok := c.Source.(holder)
	if !ok {
		return fmt.Errorf("%w: in-flight data of a source, for a chain without one", ErrRestore)
	}
	if err := h.restoreHeld(entries); err != nil {
		return fmt.Errorf("%w: in-flight data of the source: %w", ErrRestore, err)
	}
	return nil
}

// holder is a source runner that holds what its reader emitted after the
// chain stopped in its poll.
type holder interface {
	holding() bool
	// release emits what is held, in order, until the chain stops again;
	// it reports whether nothing is held any more.
	release() bool
	// storable reports whether heldEntries can encode what is held.
	storable() bool
	heldEntries() ([]persistence.ChannelEntry, error)
	restoreHeld(entries []persistence.ChannelEntry) error
}
