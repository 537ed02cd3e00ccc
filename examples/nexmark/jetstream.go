package nexmark

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream"
	"github.com/troupe-dev/troupe/watermark"
)

// NATSIdleTimeout is how long a split of a nats:// input (a subject
// filter) may send nothing before it stops holding the watermark back.
const NATSIdleTimeout = 2 * time.Second

// DefaultSubject is the subject prefix Publish stores events under when
// the URL names none: events go to "nexmark.person", "nexmark.auction"
// and "nexmark.bid".
const DefaultSubject = "nexmark"

// natsSource adds the JetStream source of a nats:// input: events as
// JSON, event time their dateTime, watermarks per subject filter
// MaxOutOfOrderness behind, and a split that goes quiet for
// NATSIdleTimeout no longer holds the others back.
func natsSource(p *operators.Pipeline, ep jetstream.Endpoint, rate float64) (operators.Stream[Event], error) {
	wm := watermark.ForBoundedOutOfOrderness(MaxOutOfOrderness)
	wm.IdleTimeout = NATSIdleTimeout
	src, err := jetstream.FromJetStream(p, jetstream.SourceConfig[Event]{
		URL: ep.Servers, Stream: ep.Stream, Subjects: ep.Subjects, Bounded: ep.Bounded,
		Timestamp:  func(e Event, _ time.Time) int64 { return e.DateTime() },
		Watermarks: wm,
	}, operators.RateLimit(rate))
	if err != nil {
		return src, fmt.Errorf("%w: input: %w", ErrConfig, err)
	}
	return src.Name("events"), nil
}

// natsSink adds the JetStream sink of a nats:// output: rows as JSON.
func natsSink[T any](rows operators.Stream[T], ep jetstream.Endpoint) (operators.Sink, error) {
	subject := ""
	if len(ep.Subjects) > 0 {
		subject = ep.Subjects[0]
	}
	s, err := jetstream.ToJetStream(rows, jetstream.SinkConfig[T]{URL: ep.Servers, Stream: ep.Stream, Subject: subject,
		Delivery: ep.Delivery, LateCommit: ep.LateCommit})
	if err != nil {
		return s, fmt.Errorf("%w: output: %w", ErrConfig, err)
	}
	return s, nil
}

// Publish stores the generator's events from, from+1, …, to-1 in the
// stream of ep, as JSON, each on "<subject>.person", ".auction" or ".bid"
// (subject: the URL's first, else DefaultSubject), creating the stream
// over "<subject>.>" if it does not exist. Each event has the message ID
// "nexmark.<seed>.<n>", so that publishing the same events again within
// the stream's duplicate window stores nothing twice. It returns the
// number of events stored and of those the server already had.
func Publish(ctx context.Context, ep jetstream.Endpoint, g *Generator, from, to int64) (stored, duplicates int, err error) {
	base := DefaultSubject
	if len(ep.Subjects) > 0 {
		base = ep.Subjects[0]
	}
	events := func(yield func(Event) bool) {
		for n := from; n < to; n++ {
			if !yield(g.Event(n)) {
				return
			}
		}
	}
	seed := strconv.FormatUint(g.Config().Seed, 36)
	return jetstream.Load(ctx, jetstream.LoadConfig[Event]{
		URL: ep.Servers, Stream: ep.Stream, Create: true, CreateSubjects: []string{base + ".>"},
		SubjectOf: func(e Event) string { return base + "." + e.Type.String() },
		MsgID:     func(i int64, _ Event) string { return "nexmark." + seed + "." + strconv.FormatInt(from+i, 36) },
	}, iter.Seq[Event](events))
}
