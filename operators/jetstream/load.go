package jetstream

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/operators"
)

// LoadConfig says where Load stores records. Zero fields take their
// defaults.
type LoadConfig[T any] struct {
	// URL is the server URL, or a comma-separated list. Required.
	URL string
	// Stream is the stream to store into. Required.
	Stream string
	// Subject is the subject to publish on. Default: the stream's only
	// subject; for a stream Load creates, the stream's name.
	Subject string
	// SubjectOf, if set, gives each record's subject instead.
	SubjectOf func(v T) string
	// Create makes Load create the stream if it does not exist, over
	// CreateSubjects (default: Subject, or the stream's name), with the
	// server's defaults otherwise.
	Create         bool
	CreateSubjects []string
	// Codec encodes the records. Default: operators.JSONCodec.
	Codec operators.Codec[T]
	// MsgID, if set, gives record i (0-based) a Nats-Msg-Id, so that a
	// load repeated within the stream's duplicate window stores nothing
	// twice.
	MsgID func(i int64, v T) string
	// Timeout bounds each wait for the outstanding acknowledgements.
	// Default DefaultCommitTimeout.
	Timeout time.Duration
}

// Load publishes the records of seq, in order, into a stream and waits
// until the server has stored them all (or, with IDs, recognised them as
// duplicates). It returns the counts of both, and stops at the first
// error or when ctx ends. It loads demo and test data, such as Nexmark
// events for the node's publish command.
func Load[T any](ctx context.Context, cfg LoadConfig[T], seq iter.Seq[T]) (stored, duplicates int, err error) {
	if cfg.Codec == nil {
		cfg.Codec = operators.JSONCodec[T]{}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultCommitTimeout
	}
	if err := checkStreamName(cfg.Stream); err != nil {
		return 0, 0, fmt.Errorf("%w: LoadConfig.Stream: %v", ErrConfig, err)
	}
	pub := newPublisher(cfg.Stream, cfg.Timeout, DefaultMaxPending)
	c, err := dial(cfg.URL, "troupe load", pub.jsOptions()...)
	if err != nil {
		return 0, 0, err
	}
	defer c.close()
	pub.c = c
	subject, err := loadSubject(ctx, c, cfg)
	if err != nil {
		return 0, 0, err
	}
	var i int64
	var buf []byte
	for v := range seq {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		if buf, err = cfg.Codec.Append(nil, v); err != nil {
			return 0, 0, fmt.Errorf("stream %s: encode record %d: %w", cfg.Stream, i, err)
		}
		id, subj := "", subject
		if cfg.MsgID != nil {
			id = cfg.MsgID(i, v)
		}
		if cfg.SubjectOf != nil {
			subj = cfg.SubjectOf(v)
		}
		if err := pub.publish(subj, buf, id); err != nil {
			return 0, 0, err
		}
		i++
	}
	if err := pub.wait(); err != nil {
		return 0, 0, err
	}
	stored, duplicates = pub.counts()
	return stored, duplicates, nil
}

// loadSubject finds (or creates) the stream and the subject to publish
// on.
func loadSubject[T any](ctx context.Context, c *conn, cfg LoadConfig[T]) (string, error) {
	st, err := c.stream(cfg.Stream)
	if errors.Is(err, errNotFound) && cfg.Create {
		subject := cfg.Subject
		if subject == "" {
			subject = cfg.Stream
		}
		subjects := cfg.CreateSubjects
		if len(subjects) == 0 {
			subjects = []string{subject}
		}
		rctx, cancel := context.WithTimeout(ctx, DefaultRequestTimeout)
		defer cancel()
		if _, cerr := c.js.CreateStream(rctx, jetstream.StreamConfig{Name: cfg.Stream, Subjects: subjects}); cerr != nil {
			return "", fmt.Errorf("%w: create stream %s on %q at %s: %v", ErrStream, cfg.Stream, subjects, c.servers, cerr)
		}
		return subject, nil
	}
	if err != nil {
		return "", err
	}
	if cfg.SubjectOf != nil {
		return "", nil
	}
	return checkSinkStream(SinkConfig[T]{Stream: cfg.Stream, Subject: cfg.Subject}, false, st)
}
