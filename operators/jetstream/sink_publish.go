package jetstream

import (
	"errors"
	"fmt"
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

// publisher publishes a sink subtask's messages asynchronously and
// collects their acknowledgements, in order. It is used from the
// subtask's goroutine only; nats.go delivers acknowledgements on its own
// goroutines into the futures.
type publisher struct {
	c       *conn
	stream  string
	timeout time.Duration
	window  int       // most futures outstanding
	futures []pending // outstanding from head on, oldest first
	head    int
	stored  int // acknowledged as new since the last reset
	dups    int // acknowledged as duplicates since the last reset
}

// pending is a published message awaiting its acknowledgement.
type pending struct {
	f  jetstream.PubAckFuture
	id string // its Nats-Msg-Id, if any, for errors
}

func newPublisher(c *conn, stream string, timeout time.Duration, window int) *publisher {
	return &publisher{c: c, stream: stream, timeout: timeout, window: window}
}

// publish sends one message. With the window full it first waits for the
// oldest acknowledgement: that is the sink's backpressure.
func (p *publisher) publish(subject string, data []byte, id string) error {
	if p.outstanding() >= p.window {
		if err := p.settle(1); err != nil {
			return err
		}
	}
	m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	m.Header[jetstream.ExpectedStreamHeader] = []string{p.stream}
	if id != "" {
		m.Header[jetstream.MsgIDHeader] = []string{id}
	}
	f, err := p.c.js.PublishMsgAsync(m, jetstream.WithStallWait(p.timeout))
	if err != nil {
		return p.err(subject, id, err)
	}
	p.futures = append(p.futures, pending{f: f, id: id})
	return nil
}

// wait blocks until every message published so far is acknowledged and
// returns the first failure. The futures time out on their own
// (WithPublishAsyncTimeout), so wait never blocks for ever.
func (p *publisher) wait() error {
	return p.settle(p.outstanding())
}

// outstanding is the number of messages awaiting acknowledgement.
func (p *publisher) outstanding() int { return len(p.futures) - p.head }

// reap settles the acknowledgements that have already arrived, oldest
// first, without blocking: it keeps memory flat and reports a refusal
// early.
func (p *publisher) reap() error {
	n := 0
	var first error
	for ; n < p.outstanding(); n++ {
		done, err := p.take(p.futures[p.head+n], false)
		if !done {
			break
		}
		if first == nil {
			first = err
		}
	}
	p.drop(n)
	return first
}

// settle waits for the n oldest acknowledgements and drops them.
func (p *publisher) settle(n int) error {
	var first error
	for _, f := range p.futures[p.head : p.head+n] {
		if _, err := p.take(f, true); first == nil {
			first = err
		}
	}
	p.drop(n)
	return first
}

// take receives f's outcome, waiting for it if block, and counts it; it
// reports false when it did not wait and the outcome has not come.
func (p *publisher) take(f pending, block bool) (bool, error) {
	wait := closed
	if block {
		wait = nil // blocks for ever: only the outcome ends the select
	}
	select {
	case ack := <-f.f.Ok():
		if ack.Duplicate {
			p.dups++
		} else {
			p.stored++
		}
		return true, nil
	case err := <-f.f.Err():
		return true, p.err(f.f.Msg().Subject, f.id, err)
	case <-wait:
		return false, nil
	}
}

// closed is a channel that is always ready.
var closed = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// drop forgets the n oldest futures; the slice is compacted when its
// settled head has grown past half of it.
func (p *publisher) drop(n int) {
	clear(p.futures[p.head : p.head+n])
	p.head += n
	switch {
	case p.head == len(p.futures):
		p.futures, p.head = p.futures[:0], 0
	case p.head > cap(p.futures)/2:
		rest := copy(p.futures, p.futures[p.head:])
		clear(p.futures[rest:])
		p.futures, p.head = p.futures[:rest], 0
	}
}

// counts returns and resets the acknowledgement counts.
func (p *publisher) counts() (stored, dups int) {
	stored, dups, p.stored, p.dups = p.stored, p.dups, 0, 0
	return stored, dups
}

// discard forgets the messages awaiting acknowledgement (a failed
// commit: the restore publishes them again).
func (p *publisher) discard() {
	clear(p.futures)
	p.futures, p.head = p.futures[:0], 0
}

func (p *publisher) err(subject, id string, err error) error {
	what := fmt.Sprintf("stream %s subject %s", p.stream, subject)
	if id != "" {
		what += " message " + id
	}
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrConnectionClosed) {
		return fmt.Errorf("%w: %s at %s: %v", ErrConnect, what, p.c.servers, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrPublish, what, err)
}
