package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/operators"
)

// DefaultRequestTimeout bounds each JetStream API request a source or
// sink makes (stream lookups, consumer creation): the open of a subtask
// fails after it rather than hang.
const DefaultRequestTimeout = 10 * time.Second

// conn is one subtask's connection and JetStream context. The subtask
// that opened it closes it.
type conn struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	servers string // for messages, password redacted
}

// dial connects to servers (a URL or a comma-separated list) under a
// name that shows in the server's monitoring, such as
// "troupe wordcount/sink 2/4".
func dial(servers, name string, jsOpts ...jetstream.JetStreamOpt) (*conn, error) {
	if servers == "" {
		return nil, fmt.Errorf("%w: URL is empty", ErrConfig)
	}
	nc, err := nats.Connect(servers, nats.Name(name))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConnect, redact(servers), err)
	}
	js, err := jetstream.New(nc, jsOpts...)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w: %s: jetstream: %v", ErrConnect, redact(servers), err)
	}
	return &conn{nc: nc, js: js, servers: redact(servers)}, nil
}

// clientName names a subtask's connection.
func clientName(tc *operators.TaskContext) string {
	return fmt.Sprintf("troupe %s/%s %d/%d", tc.Job, tc.Operator, tc.Subtask+1, tc.Parallelism)
}

// errNotFound tells a missing stream from one that cannot be read.
var errNotFound = errors.New("not found")

// stream looks a stream up, failing with ErrStream when it is missing.
func (c *conn) stream(name string) (jetstream.Stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRequestTimeout)
	defer cancel()
	st, err := c.js.Stream(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, fmt.Errorf("%w: stream %s %w at %s", ErrStream, name, errNotFound, c.servers)
	case err != nil:
		return nil, fmt.Errorf("%w: stream %s at %s: %v", ErrStream, name, c.servers, err)
	}
	return st, nil
}

// close closes the connection; it is safe to call more than once.
func (c *conn) close() {
	if c != nil {
		c.nc.Close()
	}
}
