package actors

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
)

// The subtask's turn: when it stops consuming input to read its mailbox
// (see drive, and docs/architecture.md, "The subtask's turn").

// partialBatch is a batch the subtask consumed in part: it yielded to its
// mailbox, where urgent mail waited (see urgentMail), after record next.
// It is the head of its channel's input until the rest is consumed.
type partialBatch struct {
	ch   int
	m    *batchMsg
	next int
}

// urgentMail is a subtask's mailbox middleware that counts the urgent
// messages posted to it and not yet handled: priority barriers and the
// alignment timer. A subtask consuming a batch asks it between records
// (Chain.ConsumeFrom) and stops to read its mailbox when one waits, as
// Flink's task checks its mailbox between records: a slow operator's
// batch then never holds a barrier back for longer than a few records.
// MessagePosted runs on the sender's goroutine, hence the atomic count.
type urgentMail struct{ pending atomic.Int64 }

func (u *urgentMail) MailboxStarted() {}
func (u *urgentMail) MessagePosted(msg any) {
	if urgent(msg) {
		u.pending.Add(1)
	}
}
func (u *urgentMail) MessageReceived(any) {}
func (u *urgentMail) MailboxEmpty()       {}

// waiting reports whether urgent mail waits; the subtask counts a message
// handled as it takes it (handled), so the one being handled is not.
func (u *urgentMail) waiting() bool { return u.pending.Load() > 0 }

// handled is called by the subtask as it takes msg from its mailbox; a
// subtask without the middleware (nil) counts nothing.
func (u *urgentMail) handled(msg any) {
	if u != nil && urgent(msg) {
		u.pending.Add(-1)
	}
}

// urgent reports whether msg should be read before a batch is done.
func urgent(msg any) bool {
	switch m := msg.(type) {
	case *batchMsg:
		b, ok := m.ev.(operators.Barrier)
		return ok && b.Unaligned
	case *wire.Batch:
		return m.Unaligned
	case *alignTimeoutMsg:
		return true
	case *actor.MessageEnvelope:
		return urgent(m.Message)
	}
	return false
}
