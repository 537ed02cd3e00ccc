package natsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Retries. A JetStream cluster that loses the leader of a bucket's
// stream elects another in a few seconds (about 3.6 s measured after a
// SIGKILL); meanwhile requests time out or are refused as unavailable,
// and a client whose server died reconnects to another. An operation is
// retried through such answers, each attempt bounded by attemptTimeout,
// until Config.Timeout has passed since it began, its context ends, or
// the store closes. Answers that are final (a key that exists, a stale
// revision, an object that is missing) end it at once.

// attemptTimeout bounds one attempt: short, so that an attempt sent to a
// leader that just died is given up early and sent again.
const attemptTimeout = 2 * time.Second

// Backoff between attempts, doubling from the first to the last.
const (
	firstBackoff = 20 * time.Millisecond
	maxBackoff   = 500 * time.Millisecond
)

// errNotExist is wrapped by every "no checkpoint there" error, so that
// callers that test os.ErrNotExist (a path that does not exist) work
// with either store.
var errNotExist = fs.ErrNotExist

// errWriteInProcess is returned, to be retried, when the leader of a
// bucket's stream refuses a write because one to the same subject is
// still in process there: nats-server acknowledges a write before it
// forgets it as in process, so a compare-and-set sent right after the
// acknowledgement of the previous one can be refused with "wrong last
// sequence" although its revision is the latest.
var errWriteInProcess = errors.New("natsstore: a write of the same key is still in process on the leader")

// errStreamStarting marks a bucket's stream that was not found while the
// store found or created its buckets: in a JetStream cluster a stream
// just created, here or by another node, is assigned before the server
// asked has started it, and answers "stream not found" for a moment.
var errStreamStarting = errors.New("natsstore: a bucket's stream is not started yet")

// errClusterForming marks a bucket that could not be created because
// the JetStream cluster has too few servers to place its replicas ("no
// suitable peers for placement"): a meta leader is elected before it
// knows every server of the cluster, so a bucket created just after the
// cluster started is refused so for a moment. Where replicas outnumber
// the servers for good, the store's Timeout ends the wait and the
// error names the refusal.
var errClusterForming = errors.New("natsstore: the JetStream cluster cannot place the bucket's replicas yet")

// jsErrCodeClusterNoPeers is nats-server's error code for "no suitable
// peers for placement" (JSClusterNoPeersErrF); nats.go names no
// constant for it.
const jsErrCodeClusterNoPeers jetstream.ErrorCode = 10005

// bindError marks err, an error of finding or creating the buckets, as
// errStreamStarting if a bucket's stream was not found, or as
// errClusterForming if its replicas found no servers; either makes it
// transient.
func bindError(err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("%w: %w", errStreamStarting, err)
	case errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrCodeClusterNoPeers:
		return fmt.Errorf("%w: %w", errClusterForming, err)
	}
	return err
}

// final wraps an error that retry must not retry.
type final struct{ err error }

func (f final) Error() string { return f.err.Error() }
func (f final) Unwrap() error { return f.err }

// retry runs op until it succeeds, fails for good, or time is up, and
// returns nil or the error, which names where (the store, bucket, key)
// and what was done. An error of op wrapped in final, or one transient
// does not recognise, is final.
func (s *Store) retry(ctx context.Context, where, what string, op func(ctx context.Context) error) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	stop := context.AfterFunc(s.done, cancel)
	defer stop()
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		actx, acancel := context.WithTimeout(ctx, attemptTimeout)
		err := op(actx)
		acancel()
		var f final
		switch {
		case err == nil:
			return nil
		case s.done.Err() != nil:
			return fmt.Errorf("%s: %s: %w", where, what, s.closedErr())
		case errors.As(err, &f):
			return fmt.Errorf("%s: %s: %w", where, what, f.err)
		case s.refusedErr() != nil:
			return fmt.Errorf("%s: %s: %w", where, what, s.refusedErr())
		case parent.Err() != nil:
			return fmt.Errorf("%s: %s: %w (last error: %v)", where, what, context.Cause(parent), err)
		case ctx.Err() != nil:
			return fmt.Errorf("%w: %s: %s: no answer within %v, %d attempts: %v", ErrUnavailable, where, what, s.cfg.Timeout, attempt, err)
		case !transient(err):
			return fmt.Errorf("%w: %s: %s: %v", ErrStore, where, what, err)
		}
		s.cfg.Logger.Debug("store: retrying", "where", where, "what", what, "attempt", attempt, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// transient reports whether err may go away by itself: a timeout, no
// server or no responder (a stream without a leader), a disconnection,
// JetStream not (yet) available, a bucket's stream or its cluster not
// ready while binding, or a server-side error of the 5xx kind.
func transient(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrNoServers),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount),
		errors.Is(err, jetstream.ErrConsumerLeadershipChanged),
		errors.Is(err, errWriteInProcess),
		errors.Is(err, errStreamStarting),
		errors.Is(err, errClusterForming):
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.Code >= 500 || apiErr.Code == 408)
}
