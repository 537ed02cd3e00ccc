package nexmark

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/internal/endpoint"
	"github.com/troupe-dev/troupe/operators"
)

// Spec returns the registry entry of the pipeline, writing to os.Stdout
// when no output is given. The node command's --parallelism sets every
// operator's parallelism.
func Spec() actors.PipelineSpec { return SpecTo(os.Stdout) }

// SpecTo is Spec with another writer in place of standard output.
func SpecTo(stdout io.Writer) actors.PipelineSpec {
	return actors.PipelineSpec{
		Name:        Name,
		Description: "a Nexmark query over a JSON-lines file of events or the built-in generator; rows as JSON lines",
		Params: []actors.Param{
			{Name: "query", Description: "the query: " + strings.Join(Queries(), ", "), Required: true},
			{Name: "input", Description: "JSON-lines file of events, or nats://HOST:PORT/STREAM[?subject=S][&bounded=true] (exclusive with events)"},
			{Name: "events", Description: "how many events the built-in generator makes (exclusive with input)"},
			{Name: "output", Description: "directory for part files, nats://HOST:PORT/STREAM[?subject=S]; discard: drop the rows; empty: standard output"},
			{Name: "rate", Description: "events per second per source subtask; 0: unlimited", Default: "0"},
		},
		Build: func(ps actors.Params) (*operators.Pipeline, error) {
			cfg, err := configFrom(ps)
			if err != nil {
				return nil, err
			}
			cfg.Stdout = stdout
			return New(cfg)
		},
	}
}

// configFrom validates the parameters; every error wraps
// actors.ErrBadParam and names the parameter and its value.
func configFrom(ps actors.Params) (Config, error) {
	cfg := Config{Query: ps.String("query"), Input: ps.String("input"), Output: ps.String("output")}
	if _, ok := queries[cfg.Query]; !ok {
		return cfg, ps.Invalid("query", errors.New("not one of "+strings.Join(Queries(), ", ")))
	}
	var err error
	if cfg.Rate, err = ps.FloatAtLeast("rate", 0); err != nil {
		return cfg, err
	}
	if cfg.Events, err = events(ps, cfg.Input); err != nil {
		return cfg, err
	}
	if err = endpoint.Input(ps, "input", true); err != nil {
		return cfg, err
	}
	if cfg.Output != Discard {
		err = endpoint.Output(ps, "output", true)
	}
	return cfg, err
}

// events reads the events parameter, which input excludes.
func events(ps actors.Params, input string) (int64, error) {
	switch events := ps.String("events"); {
	case input == "" && events == "":
		return 0, fmt.Errorf("%w: give input (a file of events) or events (how many to generate)", actors.ErrBadParam)
	case input != "" && events != "":
		return 0, ps.Invalid("events", fmt.Errorf("not with input=%q; give one of them", input))
	case events == "":
		return 0, nil
	}
	n, err := ps.IntAtLeast("events", 0)
	return int64(n), err
}
