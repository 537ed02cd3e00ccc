package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
)

// Input is what a custom operator's actor receives for each batch of its
// input: the records, in channel order. The actor must answer every Input
// with exactly one *Output (ctx.Respond), carrying the records it emits for
// it (possibly none). The subtask sends the next Input only after that
// reply, so the actor's mailbox never holds more than one.
type Input[In any] struct {
	Records []operators.Element[In]
}

// EndOfInput is sent once, after the last Input has been answered. The
// actor answers it with a final *Output (for example, buffered results).
type EndOfInput struct{}

// Output is a custom operator's reply to an Input or to EndOfInput.
type Output[Out any] struct {
	Records []operators.Element[Out]
}

// FromActor puts a user's actor into a pipeline as an operator. Each
// subtask spawns its own instance of props as a child actor and talks to it
// with Input, EndOfInput and Output (see their docs). A panic in the actor
// fails the job, naming this operator; a reply of another type than
// *Output[Out] fails it too.
func FromActor[In, Out any](s operators.Stream[In], props *actor.Props, opts ...ActorOption) operators.Stream[Out] {
	cfg := actorConfig{replyTimeout: DefaultReplyTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	return operators.External(s, "actor", props, func(tc *operators.TaskContext, out operators.Collector[Out]) (operators.Collector[In], any, error) {
		h, ok := tc.Host.(*host)
		if !ok || props == nil {
			return nil, nil, fmt.Errorf("actor operator needs the actors runtime and non-nil props")
		}
		op := &actorOp[In, Out]{h: h, out: out, tc: tc, timeout: cfg.replyTimeout}
		op.pid = h.spawn(props)
		return op, op, nil
	})
}

// DefaultReplyTimeout is how long a custom operator's subtask waits for
// its actor's answer to one Input or to EndOfInput by default.
const DefaultReplyTimeout = time.Minute

// ActorOption configures FromActor.
type ActorOption func(*actorConfig)

type actorConfig struct {
	replyTimeout time.Duration
}

// WithReplyTimeout sets how long the subtask waits for the actor's answer
// to one message (Input or EndOfInput) before it fails, naming the
// operator and the message; 0 waits for ever. Default
// DefaultReplyTimeout.
func WithReplyTimeout(d time.Duration) ActorOption {
	return func(c *actorConfig) { c.replyTimeout = d }
}

// actorOp buffers one batch of input, hands it to the user's actor, and
// blocks the subtask's input until the reply comes. A reply that does not
// come within the timeout fails the subtask (a processing-time timer of
// the operator), so that an actor that never answers cannot hang the job.
type actorOp[In, Out any] struct {
	h        *host
	pid      *actor.PID
	out      operators.Collector[Out]
	tc       *operators.TaskContext
	pending  []operators.Element[In]
	inFlight bool
	ending   bool // EndInput was called
	endSent  bool
	done     bool // the reply to EndOfInput came
	timeout  time.Duration
	sentAt   time.Time // when the message in flight was sent
	waiting  string    // what the message in flight is, for the timeout's error
}

var _ operators.ProcessingTimer = (*actorOp[int, int])(nil)

func (a *actorOp[In, Out]) Collect(v In, ts int64) {
	a.pending = append(a.pending, operators.Element[In]{Value: v, Timestamp: ts})
}

// BatchEnd sends what the batch produced to the actor.
func (a *actorOp[In, Out]) BatchEnd() { a.sendNext() }

func (a *actorOp[In, Out]) sendNext() {
	if a.inFlight {
		return
	}
	switch {
	case len(a.pending) > 0:
		a.send(&Input[In]{Records: a.pending}, fmt.Sprintf("an Input of %d records", len(a.pending)))
		a.pending = nil
	case a.ending && !a.endSent:
		a.endSent = true
		a.send(&EndOfInput{}, "EndOfInput")
	}
}

// send sends msg to the actor and starts waiting for its reply.
func (a *actorOp[In, Out]) send(msg any, what string) {
	a.inFlight, a.sentAt, a.waiting = true, a.tc.Now(), what
	a.h.request(a.pid, msg)
}

// NextProcessingTime reports when the reply in flight times out.
func (a *actorOp[In, Out]) NextProcessingTime() (time.Time, bool) {
	if !a.inFlight || a.timeout <= 0 {
		return time.Time{}, false
	}
	return a.sentAt.Add(a.timeout), true
}

// OnProcessingTime fails the subtask when the reply in flight is late.
func (a *actorOp[In, Out]) OnProcessingTime(now time.Time) {
	if at, ok := a.NextProcessingTime(); ok && !now.Before(at) {
		a.tc.Fail(fmt.Errorf("%w: the actor did not answer %s within %v", ErrReplyTimeout, a.waiting, a.timeout))
	}
}

func (a *actorOp[In, Out]) Blocked() bool { return a.inFlight || (a.ending && !a.done) }

func (a *actorOp[In, Out]) EndInput() error {
	a.ending = true
	a.sendNext()
	return nil
}

// HandleMessage takes the actor's replies.
func (a *actorOp[In, Out]) HandleMessage(msg any) bool {
	o, ok := msg.(*Output[Out])
	if !ok {
		return false
	}
	a.inFlight = false
	for _, e := range o.Records {
		a.out.Collect(e.Value, e.Timestamp)
	}
	if a.endSent {
		a.done = true
	}
	a.sendNext()
	return true
}
