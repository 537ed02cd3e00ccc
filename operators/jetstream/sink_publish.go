package jetstream

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/operators"
)

// encoder turns a record into a subject and a payload.
type encoder[T any] struct {
	codec     operators.Codec[T]
	subjectOf func(T) string
}

// publisher publishes a sink subtask's messages asynchronously and takes
// in their acknowledgements through nats.go's handlers, which count them
// and keep the first failure; wait blocks until none is outstanding. It
// costs no channel, timer or future per message, so that a sink keeps up
// with plain nats.go.
//
// publish and wait are called from the subtask's goroutine; the handlers
// run on nats.go's goroutines; mu orders them.
type publisher struct {
	c       *conn // set once the connection is made with jsOptions
	stream  string
	timeout time.Duration // the longest wait for the outstanding acknowledgements
	window  int           // the most messages outstanding

	mu     sync.Mutex
	first  error
	stored int // acknowledged as new, since the last counts
	dups   int // acknowledged as duplicates, since the last counts
}

func newPublisher(stream string, timeout time.Duration, window int) *publisher {
	return &publisher{stream: stream, timeout: timeout, window: window}
}

// jsOptions installs the publisher's handlers in a JetStream context
// made for it alone.
func (p *publisher) jsOptions() []jetstream.JetStreamOpt {
	return []jetstream.JetStreamOpt{
		jetstream.WithPublishAsyncAckHandler(p.onAck),
		jetstream.WithPublishAsyncErrHandler(p.onErr),
		jetstream.WithPublishAsyncMaxPending(p.window),
	}
}

// onAck counts an acknowledgement. A message stored in another stream
// (its subject belongs to that one) is a failure: the sink was to store
// it in its own.
func (p *publisher) onAck(_ jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case ack.Stream != p.stream:
		p.fail(fmt.Errorf("%w: %s was stored in stream %s: its subject does not belong to the sink's stream",
			ErrPublish, p.what(m), ack.Stream))
	case ack.Duplicate:
		p.dups++
	default:
		p.stored++
	}
}

// onErr keeps the first failure: a refusal, no stream for the subject, a
// lost connection.
func (p *publisher) onErr(_ jetstream.JetStream, m *nats.Msg, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail(p.wrap(m, err))
}

// fail keeps err if it is the first; mu is held.
func (p *publisher) fail(err error) {
	if p.first == nil {
		p.first = err
	}
}

// failed returns the first failure so far.
func (p *publisher) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.first
}

// publish sends one message, with a Nats-Msg-Id if id is set. With the
// window full it first waits for the outstanding acknowledgements: the
// sink's backpressure. It returns a failure seen so far, if any.
func (p *publisher) publish(subject string, data []byte, id string) error {
	if err := p.failed(); err != nil {
		return err
	}
	m := &nats.Msg{Subject: subject, Data: data}
	if id != "" {
		m.Header = nats.Header{jetstream.MsgIDHeader: []string{id}}
	}
	for {
		_, err := p.c.js.PublishMsgAsync(m)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			if err != nil {
				return p.wrap(m, err)
			}
			return nil
		}
		if err := p.wait(); err != nil {
			return err
		}
	}
}

// wait blocks until every message published so far is acknowledged (or
// failed), at most the publisher's timeout, and returns the first
// failure.
func (p *publisher) wait() error {
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case <-p.c.js.PublishAsyncComplete():
	case <-timer.C:
		return fmt.Errorf("%w: stream %s: %d messages not acknowledged within %v", ErrPublish,
			p.stream, p.c.js.PublishAsyncPending(), p.timeout)
	}
	return p.failed()
}

// counts returns and resets the acknowledgement counts.
func (p *publisher) counts() (stored, dups int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	stored, dups, p.stored, p.dups = p.stored, p.dups, 0, 0
	return stored, dups
}

// what names a message: its stream, subject and ID.
func (p *publisher) what(m *nats.Msg) string {
	what := fmt.Sprintf("stream %s subject %s", p.stream, m.Subject)
	if id := m.Header.Get(jetstream.MsgIDHeader); id != "" {
		what += " message " + id
	}
	return what
}

func (p *publisher) wrap(m *nats.Msg, err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrConnectionClosed) {
		return fmt.Errorf("%w: %s at %s: %v", ErrConnect, p.what(m), p.c.servers, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrPublish, p.what(m), err)
}
