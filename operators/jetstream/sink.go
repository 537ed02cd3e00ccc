package jetstream

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/operators"
)

// Delivery is the guarantee of a sink.
type Delivery int

const (
	// ExactlyOnce stages each epoch's records in the checkpoint and
	// publishes them, each with a Nats-Msg-Id, when the checkpoint
	// completes; a commit repeated after a failure is de-duplicated by
	// the server within the stream's duplicate window (see ToJetStream).
	// It needs checkpoints; without them the sink is AtLeastOnce. The
	// default.
	ExactlyOnce Delivery = iota
	// AtLeastOnce publishes each record at once and waits, at each
	// checkpoint, until the server has stored everything before it: after
	// a failure, records since the last checkpoint are published again.
	AtLeastOnce
)

// String returns "exactly-once" or "at-least-once".
func (d Delivery) String() string {
	switch d {
	case ExactlyOnce:
		return "exactly-once"
	case AtLeastOnce:
		return "at-least-once"
	}
	return fmt.Sprintf("Delivery(%d)", int(d))
}

// ParseDelivery parses "exactly-once" or "at-least-once".
func ParseDelivery(s string) (Delivery, error) {
	for _, d := range []Delivery{ExactlyOnce, AtLeastOnce} {
		if s == d.String() {
			return d, nil
		}
	}
	return 0, fmt.Errorf("delivery %q is not exactly-once or at-least-once", s)
}

// LateCommit says what a restored exactly-once sink does with a
// transaction whose commit it must repeat when the stream's duplicate
// window may have passed since the first: the server may have forgotten
// the message IDs of the first commit and would store its messages again.
type LateCommit int

const (
	// FailLateCommit fails the restore with an error wrapping
	// ErrLateCommit and operators.ErrRestore, naming the stream, the
	// checkpoint, the transaction's age and the window: nothing is stored
	// twice without a word. The default; Flink's FlinkKafkaProducer
	// likewise fails a recovery whose transaction outlived its timeout.
	FailLateCommit LateCommit = iota
	// RepublishLateCommit publishes the transaction again, as within the
	// window: what the first commit stored is stored a second time (at
	// least once, for that transaction), and no message is lost. A
	// warning names the transaction.
	RepublishLateCommit
	// SkipLateCommit takes the first commit as done and publishes
	// nothing, with a warning: exact after a restore from an old
	// checkpoint or savepoint whose transactions were committed, but the
	// transaction's messages are lost if its first commit never completed
	// (a failure between the checkpoint and its commit, then an outage
	// longer than the window). Flink's ignoreFailuresAfterTransactionTimeout.
	SkipLateCommit
)

// String returns "fail", "republish" or "skip".
func (l LateCommit) String() string {
	switch l {
	case FailLateCommit:
		return "fail"
	case RepublishLateCommit:
		return "republish"
	case SkipLateCommit:
		return "skip"
	}
	return fmt.Sprintf("LateCommit(%d)", int(l))
}

// ParseLateCommit parses "fail", "republish" or "skip".
func ParseLateCommit(s string) (LateCommit, error) {
	for _, l := range []LateCommit{FailLateCommit, RepublishLateCommit, SkipLateCommit} {
		if s == l.String() {
			return l, nil
		}
	}
	return 0, fmt.Errorf("late commit policy %q is not fail, republish or skip", s)
}

// Sink defaults.
const (
	// DefaultCommitTimeout bounds how long a commit (or, at least once, a
	// checkpoint's flush) waits for the server's acknowledgements.
	DefaultCommitTimeout = 30 * time.Second
	// DefaultMinDuplicateWindow is the shortest duplicate window an
	// exactly-once sink accepts on its stream.
	DefaultMinDuplicateWindow = time.Minute
	// DefaultMaxPending is how many publishes a sink subtask keeps
	// unacknowledged at once.
	DefaultMaxPending = 2048
)

// SinkConfig configures ToJetStream. Zero fields take their defaults.
type SinkConfig[T any] struct {
	// URL is the server URL, or a comma-separated list of them. Required.
	URL string
	// Stream is the stream the records are stored in; it must exist.
	// Required.
	Stream string
	// Subject is the subject every record is published to. Default: the
	// stream's subject, when it has exactly one without wildcards.
	Subject string
	// SubjectOf, if set, gives each record's subject instead; it must be
	// one of the stream's subjects. It runs on the subtask's goroutine.
	SubjectOf func(v T) string
	// Delivery is the guarantee. Default ExactlyOnce.
	Delivery Delivery
	// Codec encodes the records. Default: the stream's codec
	// (operators.CodecOf), JSON unless set with operators.WithCodec.
	Codec operators.Codec[T]
	// CommitTimeout bounds each commit. Default DefaultCommitTimeout.
	CommitTimeout time.Duration
	// MinDuplicateWindow: an ExactlyOnce sink refuses to open on a stream
	// whose duplicate window (StreamConfig.Duplicates) is shorter, since
	// the window bounds how late a repeated commit is still recognised.
	// Default DefaultMinDuplicateWindow; negative: no check.
	MinDuplicateWindow time.Duration
	// MaxPending bounds the publishes awaiting acknowledgement per
	// subtask. Default DefaultMaxPending.
	MaxPending int
	// LateCommit is what a restore does with a transaction whose commit
	// it repeats when the stream's duplicate window may have passed since
	// the snapshot that holds it (see ToJetStream). Default
	// FailLateCommit.
	LateCommit LateCommit

	hooks *sinkHooks // failure points for tests; nil in production
}

// sinkHooks let tests fail a sink at its risky points.
type sinkHooks struct {
	// published runs after each message of a commit was handed to the
	// connection; an error fails the commit there.
	published func(checkpoint int64, index int) error
	// committed runs when the commits of checkpoints are settled, with
	// the counts of new and duplicate messages.
	committed func(checkpoints []int64, msgs, duplicates int)
}

func (c SinkConfig[T]) withDefaults(s operators.Stream[T]) (SinkConfig[T], error) {
	if c.Codec == nil {
		c.Codec = operators.CodecOf(s)
	}
	if c.CommitTimeout == 0 {
		c.CommitTimeout = DefaultCommitTimeout
	}
	if c.MinDuplicateWindow == 0 {
		c.MinDuplicateWindow = DefaultMinDuplicateWindow
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	switch {
	case c.URL == "":
		return c, fmt.Errorf("%w: SinkConfig.URL is empty", ErrConfig)
	case c.Delivery != ExactlyOnce && c.Delivery != AtLeastOnce:
		return c, fmt.Errorf("%w: SinkConfig.Delivery %d is not a guarantee", ErrConfig, c.Delivery)
	case c.CommitTimeout < 0:
		return c, fmt.Errorf("%w: SinkConfig.CommitTimeout %v is negative", ErrConfig, c.CommitTimeout)
	case c.MaxPending < 0:
		return c, fmt.Errorf("%w: SinkConfig.MaxPending %d is negative", ErrConfig, c.MaxPending)
	case c.LateCommit < FailLateCommit || c.LateCommit > SkipLateCommit:
		return c, fmt.Errorf("%w: SinkConfig.LateCommit %d is not a policy", ErrConfig, c.LateCommit)
	case c.Subject != "" && c.SubjectOf != nil:
		return c, fmt.Errorf("%w: SinkConfig.Subject and SubjectOf are both set", ErrConfig)
	case strings.ContainsAny(c.Subject, "*> \t\r\n"):
		return c, fmt.Errorf("%w: SinkConfig.Subject %q is not a literal subject", ErrConfig, c.Subject)
	}
	if err := checkStreamName(c.Stream); err != nil {
		return c, fmt.Errorf("%w: SinkConfig.Stream: %v", ErrConfig, err)
	}
	return c, nil
}

// ToJetStream adds a sink that publishes every record, encoded by
// cfg.Codec, into the JetStream stream cfg.Stream.
//
// # Exactly once
//
// With cfg.Delivery ExactlyOnce and checkpoints on, the sink commits in
// two phases. The records of an epoch (from one barrier to the next) are
// encoded and kept in memory; at the barrier they become a transaction,
// stored in the checkpoint (operator state); when the checkpoint
// completes, the sink publishes the transaction's messages and waits
// until the server has stored them all. Each message carries a
// Nats-Msg-Id made of a random number drawn for the subtask's run (so
// that IDs are scoped by run, never by job name), the subtask, the
// checkpoint and the message's index in the transaction,
// "<run>.<subtask>.<checkpoint>.<index>" in base 36: fixed when the
// transaction is made, and kept with it in the checkpoint.
// A restore publishes the restored checkpoint's transactions again with
// the same IDs, since the failed run may have published them in part or
// in full; the server stores only those it has not seen (PubAck
// Duplicate). The last epoch is committed when the whole job has
// finished.
//
// The limit: the server remembers message IDs for the stream's duplicate
// window (StreamConfig.Duplicates, 2 minutes by default). A commit
// repeated later than that after the first — a restart slower than the
// window, checkpoints failing for longer than it before a crash, or a
// restore from an old checkpoint or savepoint whose last transactions
// were committed — would store their messages a second time. So the sink
// keeps the time of each snapshot in the checkpoint, and a restore that
// finds the window (less a tenth, for clocks and the commit's own time)
// passed since the snapshot that holds a transaction does what
// cfg.LateCommit says: by default it fails, naming the stream,
// checkpoint and window. Keep
// the window longer than the longest restart (restart delays included);
// the sink refuses streams whose window is below cfg.MinDuplicateWindow.
// Stream readers may see a transaction's messages arrive over a short
// while (they are not published atomically), never one twice within the
// window.
//
// Transactions live in the checkpoint, so a checkpoint holds each
// subtask's output since the last completed checkpoint: choose the
// checkpoint interval with the output rate in mind.
//
// # At least once
//
// With AtLeastOnce, or without checkpoints, each record is published at
// once; at every checkpoint (and at the end of input) the sink waits
// until the server has stored everything published before, so a restore
// loses nothing and may publish again what came after the checkpoint.
//
// The opening of a subtask fails, naming the server and stream, when the
// servers cannot be reached or the stream is missing; a publish the
// server refuses or does not acknowledge within cfg.CommitTimeout fails
// the subtask with an error wrapping ErrPublish. ToJetStream returns an
// error wrapping ErrConfig, naming the field, for a configuration that
// cannot work.
func ToJetStream[T any](s operators.Stream[T], cfg SinkConfig[T]) (operators.Sink, error) {
	cfg, err := cfg.withDefaults(s)
	if err != nil {
		return operators.Sink{}, err
	}
	return operators.ToSink(s, "jetstream", func(tc *operators.TaskContext) (operators.SinkWriter[T], error) {
		return openWriter(tc, cfg)
	}), nil
}

// openWriter connects, checks the stream and returns the writer for the
// configured guarantee.
func openWriter[T any](tc *operators.TaskContext, cfg SinkConfig[T]) (operators.SinkWriter[T], error) {
	pub := newPublisher(cfg.Stream, cfg.CommitTimeout, cfg.MaxPending)
	c, err := dial(cfg.URL, clientName(tc), pub.jsOptions()...)
	if err != nil {
		return nil, err
	}
	pub.c = c
	exactly := cfg.Delivery == ExactlyOnce && tc.Checkpointing
	st, err := c.stream(cfg.Stream)
	if err != nil {
		c.close()
		return nil, err
	}
	subject, err := checkSinkStream(cfg, exactly, st)
	if err != nil {
		c.close()
		return nil, err
	}
	subjectOf := cfg.SubjectOf
	if subjectOf == nil {
		subjectOf = func(T) string { return subject }
	}
	enc := encoder[T]{codec: cfg.Codec, subjectOf: subjectOf}
	if !exactly {
		return &directWriter[T]{tc: tc, pub: pub, enc: enc}, nil
	}
	writer := newWriterID()
	tc.Logger.Debug("jetstream sink: exactly-once writer", "stream", cfg.Stream, "writer", writer, "subtask", tc.Subtask, "attempt", tc.Attempt)
	return &txnWriter[T]{tc: tc, pub: pub, enc: enc, writer: writer, hooks: cfg.hooks,
		window: st.CachedInfo().Config.Duplicates, late: cfg.LateCommit}, nil
}

// checkSinkStream returns the subject to publish to when none is
// configured. An exactly-once sink also checks the stream's duplicate
// window.
func checkSinkStream[T any](cfg SinkConfig[T], exactly bool, st jetstream.Stream) (string, error) {
	info := st.CachedInfo()
	if exactly && cfg.MinDuplicateWindow > 0 && info.Config.Duplicates < cfg.MinDuplicateWindow {
		return "", fmt.Errorf("%w: stream %s keeps message IDs for %v, less than the sink's MinDuplicateWindow %v: "+
			"an exactly-once commit repeated after a restart could store messages twice",
			ErrConfig, cfg.Stream, info.Config.Duplicates, cfg.MinDuplicateWindow)
	}
	if cfg.Subject != "" || cfg.SubjectOf != nil {
		return cfg.Subject, nil
	}
	subjects := info.Config.Subjects
	if len(subjects) != 1 || strings.ContainsAny(subjects[0], "*>") {
		return "", fmt.Errorf("%w: stream %s has subjects %q: set SinkConfig.Subject (or the URL's subject=) to one to publish to",
			ErrConfig, cfg.Stream, subjects)
	}
	return subjects[0], nil
}
