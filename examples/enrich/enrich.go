package enrich

import (
	"fmt"
	"io"
	"os"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
)

// Name is the name the pipeline is registered under.
const Name = "enrich"

// Operator names, as errors, logs and fault injection (testkit's FailAt)
// see them.
const (
	SourceName = "input"
	EnrichName = "enrich"
	SinkName   = "output"
)

// New builds the enrich pipeline: the records of cfg.Input, each merged
// with the service's reply, written as part files into the directory
// cfg.Output or to cfg.Stdout. Its operators take the pipeline's default
// parallelism. An output directory that cannot be written (a file, a path
// through a file, no permission) is an error wrapping ErrConfig, before
// any job starts.
func New(cfg Config) (*operators.Pipeline, error) {
	if cfg.Input == "" {
		return nil, fmt.Errorf("%w: Input is empty", ErrConfig)
	}
	if cfg.Output != "" {
		if err := operators.CheckOutputDir(cfg.Output); err != nil {
			return nil, fmt.Errorf("%w: Output: %v", ErrConfig, err)
		}
	}
	p := operators.NewPipeline(Name)
	in := operators.ReadJSONLines[Record](p, cfg.Input).Name(SourceName)
	out, err := Enrich(in, cfg)
	if err != nil {
		return nil, err
	}
	sink(out, cfg)
	return p, nil
}

// Enrich adds the enrich step to a stream: an async I/O operator, named
// EnrichName, that calls the service for every record with up to
// cfg.Capacity calls in flight per subtask. cfg.Input, cfg.Output and
// cfg.Stdout are ignored. An invalid cfg gives an error wrapping ErrConfig.
func Enrich(in operators.Stream[Record], cfg Config) (operators.Stream[Record], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return operators.Stream[Record]{}, err
	}
	u, _ := ParseURL(cfg.URL) // checked by withDefaults
	svc := newService(cfg.Client, u)
	ac := operators.AsyncConfig[Record, Record]{Mode: cfg.Mode, Capacity: cfg.Capacity,
		Timeout: cfg.Timeout, Retry: cfg.Retry}
	if cfg.Mode == async.KeyOrdered {
		ac.Key = func(r Record) uint64 { return uint64(r.ID) }
	}
	setHandlers(&ac, cfg)
	return operators.AsyncMap(in, svc.call, ac).Name(EnrichName), nil
}

// setHandlers installs the error policy. A failed call's error already
// names the id; the default timeout error would name only the record's
// sequence number, so a timeout gets a handler in both policies.
func setHandlers(ac *operators.AsyncConfig[Record, Record], cfg Config) {
	timeout := cfg.Timeout
	if cfg.OnError == EmitErrors {
		ac.OnError = func(in Record, err error) ([]Record, error) {
			return []Record{in.withError(err.Error())}, nil
		}
		ac.OnTimeout = func(in Record) ([]Record, error) {
			return []Record{in.withError(fmt.Sprintf("enrich: id %d: timed out after %v", in.ID, timeout))}, nil
		}
		return
	}
	ac.OnTimeout = func(in Record) ([]Record, error) {
		return nil, fmt.Errorf("%w: id %d after %v", operators.ErrAsyncTimeout, in.ID, timeout)
	}
}

// sink writes the output: part files in the directory cfg.Output when it
// is set (exactly once with checkpoints), else JSON lines on cfg.Stdout.
func sink(s operators.Stream[Record], cfg Config) {
	if cfg.Output != "" {
		operators.WriteFiles(s, cfg.Output).Name(SinkName)
		return
	}
	var w io.Writer = os.Stdout
	if cfg.Stdout != nil {
		w = cfg.Stdout
	}
	operators.WriteJSONLines(s, w).Name(SinkName)
}
