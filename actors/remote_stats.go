package actors

import "sync/atomic"

// RemoteStats is what a node's remote channels have sent, and what they
// have in flight now (Engine.RemoteStats). Proto.Actor's send queue to
// another node is unbounded and does not tell its length; what bounds it
// is the credits, and InFlight counts exactly what they allow: a logical
// message sent on a remote channel stays in flight — in the send queue,
// on the wire, in the receiver's mailbox or input queue — until its
// credit has come back. So InFlight is at most CreditBound at every
// moment, and whatever Proto.Actor queues is part of it.
type RemoteStats struct {
	// Batches, Fragments and Bytes count what was sent to other nodes
	// since the engine started: logical batches with records, wire.Batch
	// messages (fragments and events), encoded record bytes.
	Batches, Fragments, Bytes int64
	// Channels is the number of remote output channels of the node's
	// live subtasks; CreditBound the sum of their credits, the most
	// logical messages they may have in flight together.
	Channels, CreditBound int64
	// InFlight is the logical messages (batches and events) sent on
	// remote channels whose credit has not come back; InFlightBytes
	// their encoded record bytes.
	InFlight, InFlightBytes int64
	// MaxInFlight and MaxInFlightBytes are the highest InFlight and
	// InFlightBytes since the engine started.
	MaxInFlight, MaxInFlightBytes int64
}

// RemoteStats returns the counts of the remote channels of the subtasks
// on this node (zero for an engine without Remote).
func (e *Engine) RemoteStats() RemoteStats {
	s := &e.stats
	return RemoteStats{
		Batches: s.batches.Load(), Fragments: s.fragments.Load(), Bytes: s.bytes.Load(),
		Channels: s.channels.Load(), CreditBound: s.creditBound.Load(),
		InFlight: s.inFlight.Load(), InFlightBytes: s.inFlightBytes.Load(),
		MaxInFlight: s.maxInFlight.Load(), MaxInFlightBytes: s.maxInFlightBytes.Load(),
	}
}

// remoteStats counts what a node's remote channels send and have in
// flight (RemoteStats). Safe for concurrent use: every subtask of the
// node updates it.
type remoteStats struct {
	batches   atomic.Int64 // logical batches with records
	fragments atomic.Int64 // wire.Batch messages sent, events included
	bytes     atomic.Int64 // encoded record bytes

	channels    atomic.Int64
	creditBound atomic.Int64

	inFlight, inFlightBytes       atomic.Int64
	maxInFlight, maxInFlightBytes atomic.Int64
}

// open counts a subtask's remote output channels, credits each.
func (r *remoteStats) open(channels, credits int) {
	r.channels.Add(int64(channels))
	r.creditBound.Add(int64(channels * credits))
}

// sent counts one logical message of bytes record bytes put in flight.
func (r *remoteStats) sent(bytes int) {
	storeMax(&r.maxInFlight, r.inFlight.Add(1))
	storeMax(&r.maxInFlightBytes, r.inFlightBytes.Add(int64(bytes)))
}

// returned counts n logical messages of bytes record bytes whose credit
// came back.
func (r *remoteStats) returned(n, bytes int) {
	r.inFlight.Add(-int64(n))
	r.inFlightBytes.Add(-int64(bytes))
}

// storeMax raises a to v unless it holds more.
func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// inFlight is one remote output channel's logical messages awaiting
// their credit, as their record bytes, oldest first: a receiver consumes
// a channel in order, so credits come back in the order of the sends.
type inFlight []int

func (q *inFlight) push(bytes int) { *q = append(*q, bytes) }

// pop removes the n oldest (fewer if fewer are in flight) and returns
// how many it removed and their bytes.
func (q *inFlight) pop(n int) (int, int) {
	n = min(n, len(*q))
	bytes := 0
	for _, b := range (*q)[:n] {
		bytes += b
	}
	*q = (*q)[n:]
	return n, bytes
}

// The subtask's share of its node's remoteStats: a subtask without them
// (its engine has no remote) counts nothing.

// openRemoteOutputs counts the subtask's remote output channels, once
// it is wired.
func (s *subtask) openRemoteOutputs() {
	if s.remoteStats == nil {
		return
	}
	n := 0
	for i := range s.outputs {
		if s.outputs[i].remote {
			n++
		}
	}
	s.remoteStats.open(n, s.cfg.Credits)
}

// trackSent puts a logical message of bytes record bytes in flight on ep.
func (s *subtask) trackSent(ep *endpoint, bytes int) {
	if s.remoteStats == nil {
		return
	}
	ep.inFlight.push(bytes)
	s.remoteStats.sent(bytes)
}

// trackReturned takes n credits' messages off ep's flight.
func (s *subtask) trackReturned(ep *endpoint, n int) {
	if s.remoteStats == nil {
		return
	}
	s.remoteStats.returned(ep.inFlight.pop(n))
}

// closeRemoteOutputs takes what the subtask still has in flight, whose
// credits will never come back, and its channels off its node's counts,
// when it stops.
func (s *subtask) closeRemoteOutputs() {
	if s.remoteStats == nil {
		return
	}
	n := 0
	for i := range s.outputs {
		ep := &s.outputs[i]
		if !ep.remote {
			continue
		}
		n++
		s.remoteStats.returned(ep.inFlight.pop(len(ep.inFlight)))
	}
	s.remoteStats.open(-n, s.cfg.Credits)
}
