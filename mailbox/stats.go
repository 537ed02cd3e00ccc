package mailbox

import "sync/atomic"

// Stats counts what passes through one mailbox. Its methods match
// Proto.Actor's mailbox middleware, so the runtime installs it directly.
// Received is counted after a message was processed, so Len includes the
// message being processed.
type Stats struct {
	posted    atomic.Int64
	received  atomic.Int64
	highWater atomic.Int64
}

// Snapshot is a copy of a mailbox's statistics.
type Snapshot struct {
	Posted    int64 // messages posted, system messages included
	Received  int64 // messages processed
	HighWater int64 // the most messages the mailbox ever held
}

// Len returns the messages in the mailbox when the snapshot was taken.
func (s Snapshot) Len() int64 { return s.Posted - s.Received }

// MailboxStarted is called by the mailbox when it starts.
func (s *Stats) MailboxStarted() {}

// MessagePosted is called for every message put into the mailbox.
func (s *Stats) MessagePosted(any) {
	n := s.posted.Add(1) - s.received.Load()
	for {
		hw := s.highWater.Load()
		if n <= hw || s.highWater.CompareAndSwap(hw, n) {
			return
		}
	}
}

// MessageReceived is called after a message was processed.
func (s *Stats) MessageReceived(any) { s.received.Add(1) }

// MailboxEmpty is called when the mailbox has been drained.
func (s *Stats) MailboxEmpty() {}

// Snapshot returns the current counts.
func (s *Stats) Snapshot() Snapshot {
	return Snapshot{Posted: s.posted.Load(), Received: s.received.Load(), HighWater: s.highWater.Load()}
}
