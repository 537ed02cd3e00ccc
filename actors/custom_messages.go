package actors

import (
	"iter"

	"github.com/troupe-dev/troupe/operators"
)

// The protocol between an actor operator's subtask and the user's actor
// (FromActor, FromKeyedActor). The subtask sends requests, each answered
// by one reply in the order they came, which the actor sends with
// ctx.Respond: an *Output for every message but Snapshot, which is
// answered with a *State. At most two Inputs wait for their replies at
// once; every other message is sent alone, once everything before it
// has been answered. The messages come in stream order — records, the timers and
// watermarks between them, snapshots at the barriers' places, the end of
// input — and the replies' records go downstream in that order.
//
// Which messages an actor gets:
//
//	every actor      Input (FromActor) or KeyedInput (FromKeyedActor), EndOfInput
//	FromKeyedActor   Open, first; Timers, when timers it set are due
//	WithWatermarks   Watermark
//	WithState        Snapshot, at each checkpoint; Restore, first after a restore

// Input is what a custom operator's actor receives for each batch of its
// input (or a few batches, when the actor is slower than its input): the
// records, in channel order. The actor must answer every Input with
// exactly one *Output (ctx.Respond), carrying the records it emits for it
// (possibly none). The records are the actor's: the subtask does not
// reuse them.
type Input[In any] struct {
	Records []operators.Element[In]
}

// EndOfInput is sent once, after the last Input, Watermark and Timers
// have been answered (the input watermark has then gone to its maximum,
// firing every event-time timer). The actor answers it with a final
// *Output (for example, buffered results). Snapshots may still follow it:
// a subtask that has finished takes part in the job's checkpoints until
// the whole job has.
type EndOfInput struct{}

// Output is a custom operator's reply to every message but Snapshot: the
// records it emits, in order, with the timestamps it sets. Once sent,
// the records (and their slice's array) are the subtask's, which reads
// them after the actor has gone on to the next Input: build each reply
// in a slice of its own, not in a buffer the actor reuses.
type Output[Out any] struct {
	Records []operators.Element[Out]
	// Watermark, when not nil, is emitted after Records as the operator's
	// output watermark, in place of the input watermark a reply to a
	// Watermark message would pass on. Nil passes the input watermark on
	// (for a reply to Watermark) or emits none (for the others). The
	// output watermark never goes back: one not above the last emitted is
	// not emitted. An actor that holds watermarks back (it buffers
	// records) sets one in every reply to a Watermark.
	Watermark *Watermark
}

// Watermark is the operator's input watermark advancing to Time, in order
// with the records (WithWatermarks): every record before it has been
// handled, and the event-time timers it fires have fired (a keyed
// actor's Timers came first). Answer with an *Output; its Watermark field
// decides the output watermark. Actors without WithWatermarks do not get
// it: the input watermark goes on downstream, after the output of the
// records before it.
type Watermark struct {
	Time int64
}

// Snapshot asks the actor for its state for checkpoint Checkpoint
// (WithState), when the checkpoint's barrier has come: every message
// before it has been answered, none after it sent. Answer with a *State
// holding the state as of now, as bytes; the actor must not change them
// afterwards (hand over copies). It is asked again at every checkpoint,
// also after EndOfInput.
type Snapshot struct {
	Checkpoint int64
}

// State is the actor's answer to Snapshot: its state as a list of opaque
// entries, stored in the checkpoint as the operator's list state. On a
// restore they are given out as WithState says: with RoundRobin each
// subtask gets back its own at the same parallelism, and on a rescale
// they are dealt round robin over the new subtasks; with Union every
// subtask gets all of them, at any parallelism —
// so give each part of the state that may move on its own an entry of
// its own (a partial count, a buffered record).
type State struct {
	Entries [][]byte
}

// Restore is the first message after a restart from a checkpoint or a
// start from a savepoint (WithState; for a keyed actor, right after
// Open): the entries of the state this subtask now owns, before any
// input. With Union every subtask gets all the entries, and keeps those
// it needs by its place in Task (Subtask, Parallelism). Answer with an
// *Output (usually empty).
type Restore struct {
	Task    operators.TaskInfo
	Entries [][]byte
}

// Open is the first message a keyed actor (FromKeyedActor) receives:
// which subtask it is, and its keyed state and timers. Get named states
// from State (operators.GetValueState(m.State, …) and the others) and
// keep them: they act on the key of the record or timer being handled.
// Answer with an *Output (usually empty).
type Open[K comparable] struct {
	Task  operators.TaskInfo
	State *operators.KeyedScope[K]
}

// KeyedRecord is a record of a keyed actor's input, with its key.
type KeyedRecord[In any, K comparable] struct {
	Key       K
	Value     In
	Timestamp int64
}

// KeyedInput is what a keyed actor receives for each batch of its input.
// Iterate over the records with All, which makes each record's key the
// current key of the keyed state and timers while the loop's body runs;
// answer with an *Output.
type KeyedInput[In any, K comparable] struct {
	records []KeyedRecord[In, K]
	state   *operators.ExternalState[K]
}

// Len returns the number of records.
func (m *KeyedInput[In, K]) Len() int { return len(m.records) }

// All yields the records in order, each with its key as the current key
// of the keyed state and timers. After the loop no key is current: the
// state then acts on no key (its use panics with operators.ErrOutOfScope).
// Call it only while handling the message, before the reply.
func (m *KeyedInput[In, K]) All() iter.Seq[KeyedRecord[In, K]] {
	return func(yield func(KeyedRecord[In, K]) bool) {
		defer m.state.Unscope()
		for _, r := range m.records {
			m.state.ScopeTo(r.Key, r.Timestamp)
			if !yield(r) {
				return
			}
		}
	}
}

// Timers is what a keyed actor receives when timers it set are due: in
// event time when the watermark has reached them (before the Watermark
// message), in processing time when the clock has passed them. Iterate
// over them with All, which makes each timer's key the current key; take
// them all, then answer with an *Output. A timer set while handling one
// fires in the same loop if it is due, as in Flink.
type Timers[K comparable] struct {
	Domain operators.TimeDomain
	state  *operators.ExternalState[K]
	taken  int
}

// All yields the due timers in firing order, each with its key as the
// current key and its time as the current timestamp; each is forgotten
// as it is yielded. Call it only while handling the message.
func (m *Timers[K]) All() iter.Seq[operators.KeyedTimer[K]] {
	return func(yield func(operators.KeyedTimer[K]) bool) {
		defer m.state.Unscope()
		for {
			t, ok := m.state.PopTimer(m.Domain)
			if !ok {
				return
			}
			m.taken++
			if !yield(t) {
				return
			}
		}
	}
}
