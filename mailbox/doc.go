// Package mailbox holds the accounting that keeps every subtask's mailbox
// bounded: credit-based flow control per channel, and mailbox statistics.
//
// # Model
//
// A channel links one sending subtask to one receiving subtask. The
// receiver grants the sender a window of credits, one per batch. The sender
// ([OutputGate]) sends a batch only while it holds a credit and queues it
// otherwise; the receiver ([InputGate]) queues what arrives until it can
// process it and returns one credit per batch it has consumed.
//
// # Invariants
//
//   - Batches in flight on a channel plus batches queued at its receiver
//     never exceed the window: an [InputGate] rejects a push beyond it with
//     [ErrCreditViolation].
//   - Credit messages in flight on a channel never exceed the window either,
//     since each one returns a consumed batch's credit.
//   - Hence a subtask's mailbox never holds more than [Bound] messages, and
//     a bounded mailbox of that size can never be full.
//
// [Queue] is the slice-backed FIFO the gates keep per channel; operators
// that hold input back (async I/O) use it too.
//
// Nothing here starts goroutines or does I/O; the gates are used from the
// owning subtask's goroutine only. [Stats] is the exception: it is updated
// by the mailbox from any goroutine and read by tests and metrics, so it is
// safe for concurrent use.
package mailbox
