package jetstream

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/watermark"
)

// DecodePolicy says what a source does with a message its codec cannot
// decode.
type DecodePolicy int

const (
	// FailOnDecodeError fails the subtask with a *DecodeError naming the
	// stream, subject and sequence, after the messages before it were
	// emitted. A restart from a checkpoint meets the message again: fix
	// the data or the codec, or use DeadLetter. The default.
	FailOnDecodeError DecodePolicy = iota
	// DeadLetter emits the message as a DeadLetter on the side output
	// DeadLetters, in its place among the records, and goes on.
	DeadLetter
)

// DeadLetters is the side output of a source with the DeadLetter policy:
//
//	events, err := jetstream.FromJetStream(p, cfg)
//	bad := operators.GetSideOutput(events, jetstream.DeadLetters)
//
// Each JetStream source has its own; the records are checkpointed with
// the source's position like its main output, so each dead letter is
// emitted once per failure-free run and, downstream of an exactly-once
// sink, stored once.
var DeadLetters = operators.NewOutputTag[DeadLetterMsg]("jetstream-dead-letters")

// DeadLetterMsg is a message a source could not decode.
type DeadLetterMsg struct {
	Stream   string    `json:"stream"`
	Subject  string    `json:"subject"`
	Sequence uint64    `json:"sequence"`
	Time     time.Time `json:"time"` // when the server stored it
	Data     []byte    `json:"data"`
	Error    string    `json:"error"` // the codec's error
}

// DefaultFetchBatch is how many messages a source's consumer asks the
// server for at a time.
const DefaultFetchBatch = 1000

// SourceConfig configures FromJetStream. Zero fields take their defaults.
type SourceConfig[T any] struct {
	// URL is the server URL, or a comma-separated list of them, such as
	// "nats://127.0.0.1:4222". Required.
	URL string
	// Stream is the stream to read. Required.
	Stream string
	// Subjects are subject filters, each a split: a unit of reading dealt
	// to the source's subtasks (split i to subtask i mod parallelism),
	// with its own position and watermark. Filters ('*' and '>'
	// wildcards allowed) must not overlap: FromJetStream refuses two that
	// some subject matches both of, such as "in.*" and "in.a", since each
	// would read its messages. Empty: one split over the whole stream.
	// On a restore the configured filters win: a filter added since the
	// checkpoint is read from StartSequence, and a restored split whose
	// filter is gone is dropped (both logged).
	Subjects []string
	// Bounded makes each split end at the last message it matched when it
	// first started (the position is checkpointed with that end, so a
	// restart ends at the same place): for tests and backfills. A split
	// whose remaining messages up to its end were removed from the stream
	// (deleted, purged, expired) ends without them, with a warning.
	// Default: unbounded, the split waits for new messages for ever.
	Bounded bool
	// StartSequence is where a split reads from on a fresh start (not on
	// a restore, which resumes where the checkpoint stood). 0 (the
	// default) or 1: the stream's first message.
	StartSequence uint64
	// Codec decodes a message's payload. Default: operators.JSONCodec.
	// It runs on the source's fetcher goroutines, one per split, so it
	// must be safe for concurrent use (JSONCodec is). The source's stream
	// gets it as its codec (operators.WithCodec).
	Codec operators.Codec[T]
	// OnDecodeError is the policy for messages the codec rejects.
	// Default FailOnDecodeError.
	OnDecodeError DecodePolicy
	// Timestamp returns a record's event time in epoch milliseconds, given
	// the time the server stored its message. Default: that time. It runs
	// on the subtask's goroutine.
	Timestamp func(v T, stored time.Time) int64
	// Watermarks makes watermarks per split, as Flink's sources do: each
	// split has its own generator and idleness detector, and the
	// subtask's watermark is the minimum over its splits that are not
	// idle. With IdleTimeout set, a split (a subject) without messages
	// for that long stops holding the watermark back. The zero value
	// makes no watermarks; the records still carry timestamps.
	Watermarks watermark.Strategy
	// FetchBatch is how many messages a split's consumer pulls at a time.
	// Default DefaultFetchBatch.
	FetchBatch int
	// RetryTimeout is how long a split goes on replacing a consumer that
	// fails (the server refuses to create it or does not answer: an
	// outage, a leader election) before it fails the subtask; the
	// attempts back off from 250 ms to 4 s, and any message read starts
	// the time again. A deleted stream and a connection closed for good
	// fail the subtask at once. Default DefaultRetryTimeout.
	RetryTimeout time.Duration

	hooks *sourceHooks // failure points for tests; nil in production
}

// sourceHooks let tests fail a source at its risky points.
type sourceHooks struct {
	// createConsumer runs before each creation of a split's consumer;
	// an error is taken as the server's answer.
	createConsumer func(subject string) error
}

// withDefaults fills zero fields and validates; errors wrap ErrConfig and
// name the field.
func (c SourceConfig[T]) withDefaults() (SourceConfig[T], error) {
	if c.Codec == nil {
		c.Codec = operators.JSONCodec[T]{}
	}
	if c.FetchBatch == 0 {
		c.FetchBatch = DefaultFetchBatch
	}
	if c.RetryTimeout == 0 {
		c.RetryTimeout = DefaultRetryTimeout
	}
	switch {
	case c.URL == "":
		return c, fmt.Errorf("%w: SourceConfig.URL is empty", ErrConfig)
	case c.FetchBatch < 0:
		return c, fmt.Errorf("%w: SourceConfig.FetchBatch %d is negative", ErrConfig, c.FetchBatch)
	case c.RetryTimeout < 0:
		return c, fmt.Errorf("%w: SourceConfig.RetryTimeout %v is negative", ErrConfig, c.RetryTimeout)
	case c.OnDecodeError != FailOnDecodeError && c.OnDecodeError != DeadLetter:
		return c, fmt.Errorf("%w: SourceConfig.OnDecodeError %d is not a policy", ErrConfig, c.OnDecodeError)
	}
	if err := checkStreamName(c.Stream); err != nil {
		return c, fmt.Errorf("%w: SourceConfig.Stream: %v", ErrConfig, err)
	}
	if err := checkFilters(c.Subjects); err != nil {
		return c, fmt.Errorf("%w: SourceConfig.Subjects %q: %v", ErrConfig, c.Subjects, err)
	}
	if c.watermarks() || c.Watermarks.Interval != 0 || c.Watermarks.IdleTimeout != 0 {
		if err := c.Watermarks.Validate(); err != nil {
			return c, fmt.Errorf("%w: SourceConfig.Watermarks: %w", ErrConfig, err)
		}
	}
	return c, nil
}

// FromJetStream adds a source that reads a JetStream stream: every
// message of cfg.Stream (or of each subject filter in cfg.Subjects),
// decoded by cfg.Codec, in stream order per split.
//
// # Reading
//
// The splits — one per subject filter — are dealt to the subtasks; a
// subtask reads each of its splits with an ordered consumer (ephemeral,
// no acknowledgements: the checkpoint is the position) on a fetcher
// goroutine of its own, which hands decoded records to the subtask
// through a bounded queue; the subtask never waits for the network. A
// subtask without splits announces itself idle.
//
// # Checkpoints
//
// Each split's position is the stream sequence after the last message
// emitted; a restore resumes every split there (DeliverByStartSequence),
// so no message is skipped or read twice, at any parallelism (splits
// move whole). Messages removed from the stream by its limits before a
// restore cannot be read again: keep the stream's retention longer than
// the longest restart.
//
// The opening of a subtask fails (naming the server and stream) when the
// servers cannot be reached or the stream does not exist. FromJetStream
// returns an error wrapping ErrConfig, naming the field, for a
// configuration that cannot work.
func FromJetStream[T any](p *operators.Pipeline, cfg SourceConfig[T], opts ...operators.SourceOption) (operators.Stream[T], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return operators.Stream[T]{}, err
	}
	if cfg.OnDecodeError == DeadLetter {
		opts = append(opts, operators.WithSideOutput(DeadLetters))
	}
	s := operators.FromReader(p, "jetstream", func(tc *operators.TaskContext) (operators.Reader[T], error) {
		return openReader(tc, cfg)
	}, opts...)
	return operators.WithCodec(s, cfg.Codec), nil
}

// watermarks reports whether the source makes watermarks.
func (c SourceConfig[T]) watermarks() bool { return c.Watermarks.NewGenerator != nil }
