package nexmark

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream"
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
		return cfg, badParam("query", cfg.Query, "not one of "+strings.Join(Queries(), ", "))
	}
	for name, v := range map[string]string{"input": cfg.Input, "output": cfg.Output} {
		if jetstream.IsURL(v) {
			if _, err := jetstream.ParseURL(v); err != nil {
				return cfg, badParam(name, v, err.Error())
			}
		}
	}
	var err error
	if cfg.Rate, err = ps.Float("rate"); err != nil {
		return cfg, err
	}
	if cfg.Rate < 0 {
		return cfg, badParam("rate", ps.String("rate"), "must not be negative")
	}
	events := ps.String("events")
	switch {
	case cfg.Input == "" && events == "":
		return cfg, fmt.Errorf("%w: give input (a file of events) or events (how many to generate)", actors.ErrBadParam)
	case cfg.Input != "" && events != "":
		return cfg, badParam("events", events, "not with input="+fmt.Sprintf("%q", cfg.Input)+"; give one of them")
	case events != "":
		n, err := ps.Int("events")
		if err != nil {
			return cfg, err
		}
		if n < 0 {
			return cfg, badParam("events", events, "must not be negative")
		}
		cfg.Events = int64(n)
	}
	return cfg, nil
}

func badParam(name, value, why string) error {
	return fmt.Errorf("%w: %s=%q: %s", actors.ErrBadParam, name, value, why)
}
