package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/operators"
)

// DefaultLookupTimeout bounds a lookup whose context has no deadline (an
// AsyncMap without Timeout): a service that never answers fails the
// record rather than hold it for ever.
const DefaultLookupTimeout = 5 * time.Second

// ErrService is returned by Request when the service answers with an
// error (the Nats-Service-Error header of NATS micro services).
var ErrService = errors.New("jetstream: the service answered with an error")

// Client is a NATS connection for lookups, shared by every subtask of the
// async operators that use it. It connects at its first use, so that
// building a pipeline needs no server, and reconnects as nats.go does.
// When nats.go gives its connection up for good (its reconnect attempts
// exhausted, after about two minutes of outage), the next lookup dials
// again: the Client outlives the jobs that use it, and their restarts
// must be able to recover. It is safe for concurrent use. Close it once
// the jobs that use it have ended.
type Client struct {
	url string

	mu     sync.Mutex
	nc     *nats.Conn
	js     jetstream.JetStream
	kvs    map[string]jetstream.KeyValue // handles of nc's; dropped with it
	closed bool
}

// NewClient returns a client for the servers at url (a URL or a
// comma-separated list), not yet connected.
func NewClient(url string) *Client { return &Client{url: url, kvs: map[string]jetstream.KeyValue{}} }

// connect returns the connection, connecting at the first call and
// again once nats.go has closed it for good. A failed dial is not kept:
// the next call tries again.
func (c *Client) connect() (*nats.Conn, jetstream.JetStream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, ErrClosed
	}
	if c.nc != nil && !c.nc.IsClosed() {
		return c.nc, c.js, nil
	}
	c.nc, c.js = nil, nil
	clear(c.kvs) // they belong to the closed connection
	cn, err := dial(c.url, "troupe lookup")
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	c.nc, c.js = cn.nc, cn.js
	return c.nc, c.js, nil
}

// bucket returns the key-value bucket, looked up once; parent is the
// call's own context, for errors.
func (c *Client) bucket(ctx, parent context.Context, name string) (jetstream.KeyValue, error) {
	nc, js, err := c.connect()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	kv, ok := c.kvs[name]
	c.mu.Unlock()
	if ok {
		return kv, nil // of the current connection: connect empties kvs when it changes
	}
	kv, err = js.KeyValue(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrBucketNotFound):
		return nil, fmt.Errorf("%w: key-value bucket %s not found at %s", ErrStream, name, redact(c.url))
	case err != nil:
		return nil, lookupErr(parent, "key-value bucket "+name, err)
	}
	c.mu.Lock()
	if c.nc == nc { // not if another lookup has dialed again meanwhile
		c.kvs[name] = kv
	}
	c.mu.Unlock()
	return kv, nil
}

// Close closes the connection. Lookups after it fail with ErrClosed. It
// is safe to call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed && c.nc != nil {
		c.nc.Close()
	}
	c.closed = true
	return nil
}

// KVLookup returns an async function for operators.AsyncMap that reads,
// for each record, the value under key(in) in the key-value bucket and
// passes it to join, which makes the records to emit. found is false
// when the key has no value (never put, deleted or purged): join decides
// whether that drops the record, keeps it unenriched or fails it.
//
// The bucket not answering (no responders, a timeout, a lost connection)
// is an error wrapping ErrUnavailable, which AsyncConfig.Retry may retry
// (async.RetryOnError); the end of the call's context (AsyncConfig.
// Timeout) returns its error, so the async operator's timeout handling
// applies. A missing bucket wraps ErrStream.
func KVLookup[In, Out any](c *Client, bucket string, key func(In) string, join func(in In, value []byte, found bool) ([]Out, error)) operators.AsyncFunc[In, Out] {
	return func(parent context.Context, in In) ([]Out, error) {
		ctx, cancel := withDefaultTimeout(parent)
		defer cancel()
		kv, err := c.bucket(ctx, parent, bucket)
		if err != nil {
			return nil, err
		}
		k := key(in)
		e, err := kv.Get(ctx, k)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			return join(in, nil, false)
		case err != nil:
			return nil, lookupErr(parent, fmt.Sprintf("key-value bucket %s key %q", bucket, k), err)
		}
		return join(in, e.Value(), true)
	}
}

// Request returns an async function for operators.AsyncMap that sends
// encode(in) as a request to subject and turns the reply into the
// records to emit with decode.
//
// No responders, a timeout or a lost connection is an error wrapping
// ErrUnavailable; a reply that carries a NATS micro service error
// (header Nats-Service-Error) wraps ErrService; the end of the call's
// context returns its error. Retries and timeouts are the async
// operator's (AsyncConfig.Retry, Timeout); a context without deadline
// gets DefaultLookupTimeout.
func Request[In, Out any](c *Client, subject string, encode func(in In) ([]byte, error), decode func(in In, reply []byte) ([]Out, error)) operators.AsyncFunc[In, Out] {
	return func(parent context.Context, in In) ([]Out, error) {
		ctx, cancel := withDefaultTimeout(parent)
		defer cancel()
		nc, _, err := c.connect()
		if err != nil {
			return nil, err
		}
		data, err := encode(in)
		if err != nil {
			return nil, fmt.Errorf("request to %s: encode %T: %w", subject, in, err)
		}
		reply, err := nc.RequestWithContext(ctx, subject, data)
		if err != nil {
			return nil, lookupErr(parent, "request to "+subject, err)
		}
		if msg := reply.Header.Get("Nats-Service-Error"); msg != "" {
			return nil, fmt.Errorf("%w: request to %s: %s (code %s)", ErrService, subject, msg, reply.Header.Get("Nats-Service-Error-Code"))
		}
		return decode(in, reply.Data)
	}
}

// withDefaultTimeout gives ctx a deadline if it has none.
func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultLookupTimeout)
}

// lookupErr returns the error of the call's context (parent) when it
// ended — the async operator's timeout, or its close — and otherwise err
// wrapped in ErrUnavailable with what was asked (our default timeout
// included: the service did not answer).
func lookupErr(parent context.Context, what string, err error) error {
	if cerr := parent.Err(); cerr != nil {
		return fmt.Errorf("%s: %w", what, cerr)
	}
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
}
