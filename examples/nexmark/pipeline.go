package nexmark

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream"
	"github.com/troupe-dev/troupe/watermark"
)

// Name is the name the pipeline is registered under.
const Name = "nexmark"

// MaxOutOfOrderness is the watermark delay: event time is dateTime, and
// the watermark trails the highest dateTime seen by this much.
const MaxOutOfOrderness = 4 * time.Second

// Discard as Config.Output selects a sink that drops every row, as
// Nexmark benchmarks use.
const Discard = "discard"

// Config says which query a nexmark pipeline runs, on what and where the
// rows go.
type Config struct {
	// Query is one of Queries().
	Query string
	// Input is a JSON-lines file of events, or a JetStream stream of them
	// as a nats:// URL (see jetstream.ParseURL and natsSource); empty
	// means the generator.
	Input string
	// Events is how many events the generator makes (with Input empty);
	// negative means unbounded.
	Events int64
	// Generator configures the generator; its zero value is the defaults.
	Generator GeneratorConfig
	// Output is a directory for part files, a JetStream stream as a
	// nats:// URL (rows as JSON; exactly once with checkpoints), Discard,
	// or empty for Stdout.
	Output string
	// Rate caps the events per second of each source subtask; 0 means
	// unlimited.
	Rate float64
	// Stdout receives the JSON lines when Output is empty; nil means
	// os.Stdout.
	Stdout io.Writer
}

// query adds one query and its sink to the event stream.
type query func(events operators.Stream[Event], cfg Config) (operators.Sink, error)

var queries = map[string]query{
	"q0":  func(s operators.Stream[Event], c Config) (operators.Sink, error) { return sink(Q0(s), c) },
	"q1":  func(s operators.Stream[Event], c Config) (operators.Sink, error) { return sink(Q1(s), c) },
	"q2":  func(s operators.Stream[Event], c Config) (operators.Sink, error) { return sink(Q2(s), c) },
	"q3":  func(s operators.Stream[Event], c Config) (operators.Sink, error) { return sink(Q3(s), c) },
	"q5":  func(s operators.Stream[Event], c Config) (operators.Sink, error) { return sink(Q5(s), c) },
	"q7":  func(s operators.Stream[Event], c Config) (operators.Sink, error) { return sink(Q7(s), c) },
	"q8":  func(s operators.Stream[Event], c Config) (operators.Sink, error) { return sink(Q8(s), c) },
	"q11": func(s operators.Stream[Event], c Config) (operators.Sink, error) { return sink(Q11(s), c) },
}

// Queries returns the names of the queries, in numeric order.
func Queries() []string {
	names := make([]string, 0, len(queries))
	for q := range queries {
		names = append(names, q)
	}
	slices.SortFunc(names, func(a, b string) int { return cmpQuery(a, b) })
	return names
}

func cmpQuery(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// New builds the pipeline of one query: source (file, JetStream or
// generator), timestamps and watermarks, the query, and the sink. Its
// operators are named "events", "timestamps" (not with a JetStream
// source, which makes watermarks per subject filter itself), the
// query's, and "sink". It returns an error wrapping ErrConfig for an
// unknown query, a bad generator configuration or a bad nats:// URL.
func New(cfg Config) (*operators.Pipeline, error) {
	q, ok := queries[cfg.Query]
	if !ok {
		return nil, fmt.Errorf("%w: Query=%q (known: %s)", ErrConfig, cfg.Query, strings.Join(Queries(), ", "))
	}
	p := operators.NewPipeline(Name + "-" + cfg.Query)
	events, err := source(p, cfg)
	if err != nil {
		return nil, err
	}
	if !jetstream.IsURL(cfg.Input) {
		events = WithEventTime(events)
	}
	s, err := q(events, cfg)
	if err != nil {
		return nil, err
	}
	s.Name("sink")
	return p, nil
}

// source adds the file, JetStream or generator source.
func source(p *operators.Pipeline, cfg Config) (operators.Stream[Event], error) {
	if jetstream.IsURL(cfg.Input) {
		ep, err := jetstream.ParseURL(cfg.Input)
		if err != nil {
			return operators.Stream[Event]{}, fmt.Errorf("%w: Input: %w", ErrConfig, err)
		}
		return natsSource(p, ep, cfg.Rate)
	}
	if cfg.Input != "" {
		return ReadEvents(p, cfg.Input, operators.RateLimit(cfg.Rate)).Name("events"), nil
	}
	g, err := NewGenerator(cfg.Generator)
	if err != nil {
		return operators.Stream[Event]{}, err
	}
	return g.Source(p, cfg.Events, operators.RateLimit(cfg.Rate)).Name("events"), nil
}

// WithEventTime gives events their dateTime as timestamp, with watermarks
// MaxOutOfOrderness behind, per source subtask.
func WithEventTime(events operators.Stream[Event]) operators.Stream[Event] {
	return operators.AssignTimestamps(events, operators.WatermarkStrategy[Event]{
		Strategy:  watermark.ForBoundedOutOfOrderness(MaxOutOfOrderness),
		Timestamp: func(e Event, _ int64) int64 { return e.DateTime() },
	}).Name("timestamps")
}

// sink adds the sink that cfg.Output selects.
func sink[T any](rows operators.Stream[T], cfg Config) (operators.Sink, error) {
	switch {
	case cfg.Output == Discard:
		return operators.Discard(rows), nil
	case cfg.Output == "":
		w := cfg.Stdout
		if w == nil {
			w = os.Stdout
		}
		return operators.WriteJSONLines(rows, w), nil
	case jetstream.IsURL(cfg.Output):
		ep, err := jetstream.ParseURL(cfg.Output)
		if err != nil {
			return operators.Sink{}, fmt.Errorf("%w: Output: %w", ErrConfig, err)
		}
		return natsSink(rows, ep)
	}
	return operators.WriteFiles(rows, cfg.Output), nil
}
