package wordcount

import (
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/internal/endpoint"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream"
)

// Name is the name the pipeline is registered under.
const Name = "wordcount"

// Count is one output record: a word and how many times it has been seen so
// far.
type Count struct {
	Word  string `json:"word"`
	Count int    `json:"count"`
}

// Config says what a wordcount pipeline reads and where it writes.
type Config struct {
	// Input is the text file to read, or a JetStream stream of lines (one
	// per message, as text) as a nats:// URL (see jetstream.ParseURL).
	Input string
	// Output is a directory for part files, or a JetStream stream as a
	// nats:// URL (each Count as a JSON message); empty means Stdout.
	Output string
	// Rate caps the lines per second read by each source subtask; 0 means
	// unlimited.
	Rate float64
	// Stdout receives the JSON lines when Output is empty; nil means
	// os.Stdout.
	Stdout io.Writer
}

// New builds the wordcount pipeline. Its operators are named "lines",
// "split", "count" and "sink", the names that errors and logs show. It
// returns an error wrapping jetstream.ErrConfig for a bad nats:// URL.
func New(cfg Config) (*operators.Pipeline, error) {
	p := operators.NewPipeline(Name)
	lines, err := source(p, cfg)
	if err != nil {
		return nil, err
	}
	words := operators.FlatMap(lines.Name("lines"), eachWord).Name("split")
	counts := operators.ProcessKeyed(operators.KeyBy(words, func(w string) string { return w }), count).Name("count")
	s, err := sink(counts, cfg)
	if err != nil {
		return nil, err
	}
	s.Name("sink")
	return p, nil
}

// source reads the lines of a file or of a JetStream stream.
func source(p *operators.Pipeline, cfg Config) (operators.Stream[string], error) {
	if !jetstream.IsURL(cfg.Input) {
		return operators.ReadLines(p, cfg.Input, operators.RateLimit(cfg.Rate)), nil
	}
	ep, err := jetstream.ParseURL(cfg.Input)
	if err != nil {
		return operators.Stream[string]{}, err
	}
	return jetstream.FromJetStream(p, jetstream.SourceConfig[string]{URL: ep.Servers, Stream: ep.Stream,
		Subjects: ep.Subjects, Bounded: ep.Bounded, Codec: jetstream.TextCodec{}}, operators.RateLimit(cfg.Rate))
}

// occurrences is the keyed state of count: a word's occurrences so far.
var occurrences = operators.ValueDescriptor[int]{Name: "count"}

// count keeps the number of occurrences of the current word as keyed state
// and emits the new value.
func count(ctx *operators.KeyedContext[string], w string, out operators.Collector[Count]) error {
	state, err := operators.GetValueState(ctx, occurrences)
	if err != nil {
		return err
	}
	n, _ := state.Value()
	n++
	state.Update(n)
	out.Collect(Count{Word: w, Count: n}, ctx.Timestamp())
	return nil
}

func sink(s operators.Stream[Count], cfg Config) (operators.Sink, error) {
	switch {
	case jetstream.IsURL(cfg.Output):
		ep, err := jetstream.ParseURL(cfg.Output)
		if err != nil {
			return operators.Sink{}, err
		}
		subject := ""
		if len(ep.Subjects) > 0 {
			subject = ep.Subjects[0]
		}
		return jetstream.ToJetStream(s, jetstream.SinkConfig[Count]{URL: ep.Servers, Stream: ep.Stream,
			Subject: subject, Delivery: ep.Delivery, LateCommit: ep.LateCommit})
	case cfg.Output != "":
		return operators.WriteFiles(s, cfg.Output), nil
	}
	w := cfg.Stdout
	if w == nil {
		w = os.Stdout
	}
	return operators.WriteJSONLines(s, w), nil
}

// Spec returns the registry entry of the pipeline, writing to os.Stdout
// when no output directory is given.
func Spec() actors.PipelineSpec { return SpecTo(os.Stdout) }

// SpecTo is Spec with another writer in place of standard output, for
// tests and for programs that embed the node command.
func SpecTo(stdout io.Writer) actors.PipelineSpec {
	return actors.PipelineSpec{
		Name:        Name,
		Description: "count the words of a text file; emits each word's running count as a JSON line",
		Params: []actors.Param{
			{Name: "input", Description: "text file to read, or nats://HOST:PORT/STREAM[?subject=S][&bounded=true] (a line per message)", Required: true},
			{Name: "output", Description: "directory for part files, or nats://HOST:PORT/STREAM[?subject=S]; empty: standard output"},
			{Name: "rate", Description: "lines per second per source subtask; 0: unlimited", Default: "0"},
		},
		Build: func(ps actors.Params) (*operators.Pipeline, error) {
			rate, err := ps.FloatAtLeast("rate", 0)
			if err != nil {
				return nil, err
			}
			if err := endpoint.Input(ps, "input", true); err != nil {
				return nil, err
			}
			if err := endpoint.Output(ps, "output", true); err != nil {
				return nil, err
			}
			return New(Config{Input: ps.String("input"), Output: ps.String("output"), Rate: rate, Stdout: stdout})
		},
	}
}

// Words splits a line into words: maximal runs of Unicode letters and
// digits, lowercased. Any other character, including an apostrophe or a
// hyphen, separates words, so "Don't" gives "don" and "t".
func Words(line string) []string {
	var words []string
	eachWord(line, func(w string) { words = append(words, w) })
	return words
}

// eachWord is Words without the slice, for the split operator's hot path.
func eachWord(line string, emit func(string)) {
	start := -1 // byte offset of the current word; -1 between words
	for i, r := range line {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			emit(strings.ToLower(line[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		emit(strings.ToLower(line[start:]))
	}
}
