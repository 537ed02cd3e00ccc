// Package async holds the pure logic of troupe's async I/O operator: the
// queue that decides when a record whose async call has completed may be
// emitted, the retry strategies, the timeout budget and the operator's
// configuration. It starts no goroutines, does no I/O and reads no clock:
// the runtime's sequencer actor drives it with messages and passes times
// in, so every behaviour here is tested without waiting.
//
// # Basics
//
// The sequencer puts each input record into a [Queue] in input order
// ([Queue.Put]) and each watermark (or other element that must keep its
// place) as a marker ([Queue.PutMarker]). Invokers call the user's
// function; their replies become [Queue.Complete] or [Queue.Fail]. After
// each event the sequencer calls [Queue.Pop] until it returns false and
// emits what it returns. The [Mode] decides what Pop may release:
//
//   - Ordered: the head of the queue, once completed (or a marker at the
//     head). Output order is input order.
//   - Unordered: any completed record with no marker before it, in
//     completion order; a marker once everything before it has left.
//     Records between two markers may swap; none crosses a marker.
//   - KeyOrdered: as Unordered, but a record also waits for the earlier
//     records of its key hash: order is kept within a key only.
//
// # Invariants
//
//   - Capacity counts records and markers, as in Flink, where a watermark
//     takes a slot in the queue. So markers stuck behind a slow record are
//     bounded too, and "full" means one thing for every input element: at
//     [Queue.Full] the operator stops consuming input and granting credit.
//     Nothing is ever dropped.
//   - Every entry put leaves Pop exactly once. A handle completes at most
//     once: Complete and Fail return false for a handle that awaits no
//     completion, so a misbehaving function that completes a record many
//     times yields one output.
//   - No record leaves before a marker put before it, or after a marker put
//     after it.
//   - [Queue.Pending] lists every entry not yet popped, in input order:
//     exactly what a snapshot must store. Restoring means putting them
//     into a new queue in that order and invoking the records again.
//
// Internally the queue is cut by its markers into segments; only the
// first segment releases records, which is how none crosses a marker.
// Each segment keeps a ready list of the completed records that head
// their chain (all records in Ordered mode, one key in KeyOrdered mode)
// within it, so Put, Complete and Pop are O(1) and allocate nothing in the
// steady state (KeyOrdered adds a map access per record).
//
// # Caveats
//
//   - A Queue is not safe for concurrent use; it belongs to one actor.
//   - A handle is valid only for its queue until the record is popped;
//     restored records get new handles.
//   - A failed record leaves in its turn like a result. A runtime that
//     fails the subtask as soon as a call fails (Flink's behaviour) can
//     act on Fail's return value without waiting for Pop.
//   - The queue does not copy values: the input is stored as put and the
//     results slice as completed. The runtime copies mutable inputs before
//     Put.
//   - Checkpoint barriers need not enter the queue: as in Flink, the
//     sequencer can store Pending and forward the barrier at once, since
//     the records still pending are in the snapshot and will be invoked
//     again on restore. Putting a barrier as a marker is also correct,
//     only slower.
package async
