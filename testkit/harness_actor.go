package testkit

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// actorHarnessOp is the name of the operator an actor harness runs, the
// same in every harness, so that one's snapshots restore into another.
const actorHarnessOp = "actor"

// WithActorOptions gives the actor operator of an actor harness its
// options (actors.WithState, actors.WithWatermarks, …).
func WithActorOptions(opts ...actors.ActorOption) HarnessOption {
	return func(c *harnessConfig) { c.actorOpts = append(c.actorOpts, opts...) }
}

// ActorHarness runs one subtask of an actor operator (actors.FromActor)
// with the user's props, as Harness runs any operator: the test feeds
// records, watermarks and processing time, takes snapshots (the actor is
// asked for its State) and restores them (RestoreFrom: the actor gets
// Restore before anything else), and reads the output. The user's actor
// runs in an actor system of the harness's own; each step waits for its
// replies, so that it ends with the actor idle and every reply handled.
// A reply that does not come within DefaultTimeout fails the operator
// with actors.ErrReplyTimeout; a panic of the actor fails it with an
// *actors.PanicError (use ExpectFailure to see either as Err).
type ActorHarness[In, Out any] struct {
	*Harness[In, Out]
}

// NewActorHarness builds a harness for the actor operator of props on a
// stream of In.
func NewActorHarness[In, Out any](t testing.TB, props *actor.Props, opts ...HarnessOption) *ActorHarness[In, Out] {
	t.Helper()
	actorOpts := newHarnessConfig(opts).actorOpts
	h := NewHarness(t, func(s operators.Stream[In]) operators.Stream[Out] {
		return actors.FromActor[In, Out](s, props, actorOpts...).Name(actorHarnessOp)
	}, opts...)
	return &ActorHarness[In, Out]{Harness: h}
}

// Sent returns every message the harness sent to the actor, in order:
// the protocol as the actor saw it.
func (h *base[Out]) Sent() []any { return append([]any(nil), h.host.actors.sent...) }

// Protocol returns the messages sent to the actor as short names, in
// order — "Open", "Restore(2)" (entries), "Input(3)" and "KeyedInput(3)"
// (records), "Watermark(10)", "Timers(event-time)", "Snapshot(1)",
// "EndOfInput" — for tests that check what the actor got when.
func (h *base[Out]) Protocol() []string {
	names := make([]string, len(h.host.actors.sent))
	for i, m := range h.host.actors.sent {
		names[i] = describeMessage(m)
	}
	return names
}

// ActorState returns the entries of the last State the actor answered a
// Snapshot with (actors.WithState); nil before the first.
func (h *base[Out]) ActorState() [][]byte { return h.host.actors.lastState }

// describeMessage names a message of the actor protocol.
func describeMessage(m any) string {
	switch m := m.(type) {
	case *actors.Restore:
		return fmt.Sprintf("Restore(%d)", len(m.Entries))
	case *actors.Watermark:
		return strings.Replace(operators.Watermark{Time: m.Time}.String(), "watermark", "Watermark", 1)
	case *actors.Snapshot:
		return fmt.Sprintf("Snapshot(%d)", m.Checkpoint)
	case *actors.EndOfInput:
		return "EndOfInput"
	case interface{ Len() int }: // a KeyedInput of any types
		return fmt.Sprintf("KeyedInput(%d)", m.Len())
	}
	return describeGeneric(m)
}

// describeGeneric names the generic messages, whatever their type
// arguments: Input (with its number of records), Open and Timers (with
// its domain).
func describeGeneric(m any) string {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Sprintf("%T", m)
	}
	name, _, _ := strings.Cut(v.Elem().Type().Name(), "[")
	switch name {
	case "Input":
		return fmt.Sprintf("Input(%d)", v.Elem().FieldByName("Records").Len())
	case "Timers":
		return fmt.Sprintf("Timers(%v)", v.Elem().FieldByName("Domain").Interface())
	}
	return name
}

// KeyedActorHarness runs one subtask of a keyed actor operator
// (actors.FromKeyedActor), as ActorHarness does, and reads the keyed
// state and timers the actor keeps in the engine.
type KeyedActorHarness[In any, K comparable, Out any] struct {
	*Harness[In, Out]
}

// NewKeyedActorHarness builds a harness for the keyed actor operator of
// props on a stream of In keyed by key. With WithSubtask, only records
// whose key the subtask owns may be fed.
func NewKeyedActorHarness[In any, K comparable, Out any](t testing.TB, key func(In) K, props *actor.Props, opts ...HarnessOption) *KeyedActorHarness[In, K, Out] {
	t.Helper()
	actorOpts := newHarnessConfig(opts).actorOpts
	h := NewKeyedHarness(t, key, func(ks operators.KeyedStream[In, K]) operators.Stream[Out] {
		return actors.FromKeyedActor[In, K, Out](ks, props, actorOpts...).Name(actorHarnessOp)
	}, opts...)
	return &KeyedActorHarness[In, K, Out]{Harness: h}
}

// State runs fn on the test's goroutine with key k's keyed state, as the
// actor sees it while it handles a record of k: get named states from s
// (operators.GetValueState(s, …)) and read or change them. Call it
// between steps, when the actor is idle.
func (h *KeyedActorHarness[In, K, Out]) State(k K, fn func(s *operators.KeyedScope[K])) {
	h.t.Helper()
	h.keyedState().Inspect(k, fn)
}

// RegisteredTimers returns the timers the actor has set and that have not
// fired, event-time ones first, each domain in firing order.
func (h *KeyedActorHarness[In, K, Out]) RegisteredTimers() []operators.KeyedTimer[K] {
	h.t.Helper()
	return h.keyedState().RegisteredTimers()
}

func (h *KeyedActorHarness[In, K, Out]) keyedState() *operators.ExternalState[K] {
	h.t.Helper()
	for _, op := range h.host.actors.ops {
		if k, ok := op.(interface {
			KeyedState() *operators.ExternalState[K]
		}); ok && k.KeyedState() != nil {
			return k.KeyedState()
		}
	}
	h.t.Fatalf("harness: no keyed actor operator with keys of type %T", *new(K))
	return nil
}
