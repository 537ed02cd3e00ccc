package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultRetryTimeout is how long a source's split goes on replacing a
// consumer that fails before it fails the subtask (SourceConfig.RetryTimeout).
const DefaultRetryTimeout = 30 * time.Second

// The back-off between two attempts at a split's new consumer.
const (
	retryFirstDelay = 250 * time.Millisecond
	retryMaxDelay   = 4 * time.Second
)

// consumerError is a failure of a split's consumer — its creation, or
// nats.go's attempt to recreate it inside Next — which a new consumer at
// the fetcher's position may get past. It never leaves the fetcher.
type consumerError struct{ err error }

func (e *consumerError) Error() string { return e.err.Error() }
func (e *consumerError) Unwrap() error { return e.err }

// consumerRetry paces the replacement of a split's failing consumer: a
// back-off from retryFirstDelay, doubling up to retryMaxDelay, until
// timeout has passed since the first failure after the last progress.
// The waits end with the fetcher's context, so that stopping the reader
// never waits for a back-off. It is owned by one fetcher.
type consumerRetry struct {
	timeout time.Duration
	first   time.Duration // the first back-off
	longest time.Duration // the longest back-off
	delay   time.Duration // the next back-off
	since   time.Time     // the first failure since the last progress; zero: none
}

func newConsumerRetry(timeout time.Duration) *consumerRetry {
	return &consumerRetry{timeout: timeout, first: retryFirstDelay, longest: retryMaxDelay}
}

// progressed forgets the failures so far: the split has read messages
// since.
func (r *consumerRetry) progressed() { r.since, r.delay = time.Time{}, 0 }

// wait waits before the next attempt; it reports false, at once, when
// the attempt would come after the timeout, and when ctx ends.
func (r *consumerRetry) wait(ctx context.Context) bool {
	now := time.Now()
	if r.since.IsZero() {
		r.since, r.delay = now, r.first
	}
	if now.Add(r.delay).Sub(r.since) > r.timeout {
		return false
	}
	timer := time.NewTimer(r.delay)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
	}
	r.delay = min(2*r.delay, r.longest)
	return true
}

// lasting reports whether a consumer's failure cannot pass by trying
// again: the stream no longer exists (a stream made again under its name
// has new sequences, so the split's position means nothing there), or
// the connection is closed for good.
func (f *fetcher[T]) lasting(err error) bool {
	return errors.Is(err, jetstream.ErrStreamNotFound) || f.closedConn(err)
}

func (f *fetcher[T]) closedConn(err error) bool {
	return f.r.conn.nc.IsClosed() || errors.Is(err, jetstream.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionClosed)
}

// readErr names the stream, the split and the position in a fetcher's
// failure: ErrConnect for a connection closed for good, ErrStream
// otherwise, saying so when the stream no longer exists.
func (f *fetcher[T]) readErr(err error) error {
	what := "stream " + f.sp.Stream
	if f.sp.Subject != "" {
		what += " subject " + f.sp.Subject
	}
	switch {
	case f.closedConn(err):
		return fmt.Errorf("%w: read %s at sequence %d: %v", ErrConnect, what, f.resume, err)
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("%w: read %s at sequence %d: stream %s no longer exists (deleted while the source read it): %v",
			ErrStream, what, f.resume, f.sp.Stream, err)
	}
	return fmt.Errorf("%w: read %s at sequence %d: %v", ErrStream, what, f.resume, err)
}
