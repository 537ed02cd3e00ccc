package actors

import (
	"fmt"
	"reflect"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
)

// FromActor puts a user's actor into a pipeline as an operator. Each
// subtask spawns its own instance of props as its child actor and talks
// to it with the messages of this package's protocol (Input, EndOfInput,
// Output; Watermark with WithWatermarks; Snapshot, State and Restore with
// WithState): requests answered in order, at most two Inputs waiting and
// any other message alone.
//
// The actor's fields live as long as the job attempt. Without WithState
// they are lost when the job restarts from a checkpoint — after any
// failure — and the actor starts empty, while its input is replayed only
// from the checkpoint: a stateful actor without WithState is not
// exactly-once. With WithState its state is part of every checkpoint.
//
// A panic in the actor, or in a child actor it spawned, fails the subtask
// and the job fails over from its latest checkpoint like after any
// operator failure (see supervised for what the actor's own supervisor
// strategy may do); a reply of another type than the protocol's fails it
// too, naming this operator.
func FromActor[In, Out any](s operators.Stream[In], props *actor.Props, opts ...ActorOption) operators.Stream[Out] {
	cfg := newActorConfig(opts)
	out := operators.External(s, "actor", props, func(tc *operators.TaskContext, out operators.Collector[Out]) (operators.Collector[In], any, error) {
		op, err := openActorOp[In, struct{}, Out](tc, props, cfg, out, &plainBatch[In]{}, nil)
		if err != nil {
			return nil, nil, err
		}
		return op, op, nil
	})
	return failBuild(cfg, out)
}

// FromKeyedActor puts a user's actor into a pipeline as an operator on a
// keyed stream, as ProcessKeyedWithTimers with an actor for the function.
// Every record reaches the subtask that owns its key's key group, and the
// actor gets the engine's keyed state: its first message, Open, carries
// an operators.KeyedScope from which it gets named states
// (operators.GetValueState, GetMapState, …), which act on the current
// key, and on which it sets event-time and processing-time timers for
// the current key. Records come in KeyedInput messages, fired timers in
// Timers messages; iterating over either (All) makes each record's or
// timer's key current. The state and timers are checkpointed by key
// group and move with their key groups when a job is rescaled from a
// savepoint, as the built-in keyed operators' do.
//
// The threading rule: the actor may touch the keyed state and timers
// only while it handles a message, inside the loop over that message's
// records or timers (Open may get states, but no key is current there),
// from the goroutine Proto.Actor runs it on. The subtask lends the
// state for each message and takes it back when the reply arrives;
// state used after the reply, or by another goroutine (a child actor, a
// goroutine of the actor's own), panics with an error wrapping
// operators.ErrOutOfScope, which fails the subtask.
//
// Options are FromActor's: WithState adds operator state of the actor's
// own (bytes) to the keyed state; WithWatermarks sends it the watermarks.
func FromKeyedActor[In any, K comparable, Out any](ks operators.KeyedStream[In, K], props *actor.Props, opts ...ActorOption) operators.Stream[Out] {
	cfg := newActorConfig(opts)
	out := operators.KeyedExternal(ks, "keyed-actor", props, func(tc *operators.TaskContext, key func(In) K, out operators.Collector[Out]) (operators.Collector[In], any, error) {
		x, err := operators.NewExternalState[K](tc)
		if err != nil {
			return nil, nil, err
		}
		op, err := openActorOp[In, K, Out](tc, props, cfg, out, &keyedBatch[In, K]{key: key, state: x}, x)
		if err != nil {
			return nil, nil, err
		}
		return op, op, nil
	})
	return failBuild(cfg, out)
}

// DefaultReplyTimeout is how long a custom operator's subtask waits for
// its actor's answer to one message by default.
const DefaultReplyTimeout = time.Minute

// ActorOption configures FromActor and FromKeyedActor.
type ActorOption func(*actorConfig)

type actorConfig struct {
	replyTimeout time.Duration
	state        bool         // WithState
	mode         Distribution // WithState's
	watermarks   bool         // WithWatermarks
}

func newActorConfig(opts []ActorOption) actorConfig {
	cfg := actorConfig{replyTimeout: DefaultReplyTimeout}
	for _, o := range opts {
		if o != nil { // skipped, as other operators' nil options are
			o(&cfg)
		}
	}
	return cfg
}

// validate reports a setting that cannot be used.
func (c actorConfig) validate() error {
	if c.replyTimeout < 0 {
		return fmt.Errorf("%w: WithReplyTimeout(%v) is negative (0 waits for ever)", ErrActorOption, c.replyTimeout)
	}
	if c.mode != RoundRobin && c.mode != Union {
		return fmt.Errorf("%w: WithState(%d): want RoundRobin or Union", ErrActorOption, int(c.mode))
	}
	return nil
}

// failBuild makes Build fail, naming the operator of out, when a setting
// cannot be used; it returns out.
func failBuild[Out any](c actorConfig, out operators.Stream[Out]) operators.Stream[Out] {
	if err := c.validate(); err != nil {
		operators.FailBuild(out, err)
	}
	return out
}

// WithReplyTimeout sets how long the subtask waits for the actor's answer
// to one message before it fails, naming the operator and the message; 0
// waits for ever. Default DefaultReplyTimeout. A negative d fails Build
// (ErrActorOption), naming the operator: a timeout computed wrong must not
// turn the protection against an actor that never answers off.
func WithReplyTimeout(d time.Duration) ActorOption {
	return func(c *actorConfig) { c.replyTimeout = d }
}

// Distribution says how an actor's state entries (State.Entries) are
// given out when a job restarts, as Flink's operator list state and
// union list state. At an unchanged parallelism RoundRobin gives every
// subtask back its own entries; Union gives every subtask all of them,
// at any parallelism, as Flink's union list state does — an actor that
// kept them all would count every other subtask's state as its own.
type Distribution int

const (
	// RoundRobin deals the entries of all the old subtasks, in order of
	// old subtask and then position, over the new subtasks: each entry
	// goes to exactly one (Flink's even-split list state).
	RoundRobin Distribution = iota
	// Union gives every new subtask all the entries of all the old ones
	// (Flink's union list state): each picks what it needs.
	Union
)

// String names the mode, as in "round robin".
func (d Distribution) String() string {
	if d == Union {
		return "union"
	}
	return "round robin"
}

// WithState makes the actor's own state part of every checkpoint: at
// each checkpoint the actor gets a Snapshot message and answers with its
// State; after a restart or a start from a savepoint it gets its entries
// back in a Restore message before any input, redistributed by mode on a
// rescale. Without it the actor gets neither, and its fields are lost on
// a restart.
func WithState(mode Distribution) ActorOption {
	return func(c *actorConfig) { c.state, c.mode = true, mode }
}

// WithWatermarks sends the actor the operator's input watermark as
// Watermark messages, in order with the records; its reply may set the
// output watermark (Output.Watermark). Without it, watermarks go on
// downstream unchanged, each after the output of the records before it.
func WithWatermarks() ActorOption {
	return func(c *actorConfig) { c.watermarks = true }
}

// supervised returns props for the operator's actor: a copy of the
// user's, whose children's failures escalate to the subtask — and so fail
// it over from the latest checkpoint — unless the user's props already
// name a supervisor strategy (actor.WithSupervisor), which is then the
// user's to choose. Proto.Actor's default would restart a failed child in
// place, dropping the message it was handling: output lost behind the
// engine's back. A strategy of the user's may do so knowingly (a child
// that does idempotent work, say), or stop a child; escalating keeps
// exactly-once. Descendants further down are governed by their own
// parents' props, which the user writes.
func supervised(props *actor.Props) *actor.Props {
	c := *props // the user's props are not changed
	if f := reflect.ValueOf(&c).Elem().FieldByName("supervisionStrategy"); f.IsValid() && !f.IsNil() {
		return &c
	}
	return c.Configure(actor.WithSupervisor(escalate))
}

// openActorOp opens one subtask's operator and spawns its actor.
func openActorOp[In any, K comparable, Out any](tc *operators.TaskContext, props *actor.Props, cfg actorConfig,
	out operators.Collector[Out], batch inputBatch[In], x *operators.ExternalState[K]) (*actorOp[In, K, Out], error) {
	h, ok := tc.Host.(ActorHost)
	if !ok || props == nil {
		if x != nil {
			_ = x.Close()
		}
		return nil, fmt.Errorf("actor operator needs a runtime that hosts actors (actors.ActorHost, got %T) and non-nil props", tc.Host)
	}
	op := newActorOp[In, K, Out](h, tc, cfg, out, batch, x)
	pid, err := h.Spawn(supervised(props))
	if err != nil {
		_ = op.closeState()
		return nil, err
	}
	op.pid = pid
	return op, nil
}
