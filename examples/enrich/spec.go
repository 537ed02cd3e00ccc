package enrich

import (
	"errors"
	"io"
	"os"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/internal/endpoint"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/async"
)

// Spec returns the registry entry of the pipeline, writing to os.Stdout
// when no output directory is given.
func Spec() actors.PipelineSpec { return SpecTo(os.Stdout) }

// SpecTo is Spec with another writer in place of standard output, for
// tests and for programs that embed the node command.
func SpecTo(stdout io.Writer) actors.PipelineSpec {
	return actors.PipelineSpec{
		Name:        Name,
		Description: "merge each JSON line's record with a service's reply to GET {url}?id={id}",
		Params: []actors.Param{
			{Name: "input", Description: "JSON lines file of objects with an integer id", Required: true},
			{Name: "url", Description: "service URL; each record is fetched from url?id=<id>", Required: true},
			{Name: "mode", Description: "output order: ordered, unordered or keyed (per id)", Default: "ordered"},
			{Name: "capacity", Description: "requests in flight per subtask", Default: "100"},
			{Name: "timeout", Description: "per record, all attempts included; 0: none", Default: DefaultTimeout.String()},
			{Name: "retries", Description: "attempts per record in all, the first included", Default: "3"},
			{Name: "backoff", Description: "delay between attempts: fixed:<d> or exp:<initial>:<mult>:<max>", Default: DefaultBackoff},
			{Name: "on-error", Description: "a record failing for good: fail the job, or emit it with an error field", Default: "fail"},
			{Name: "output", Description: "directory for part files of JSON lines; empty: standard output"},
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

// configFrom converts and checks the parameters; each error wraps
// actors.ErrBadParam and names the parameter and its value.
func configFrom(ps actors.Params) (Config, error) {
	cfg := Config{Input: ps.String("input"), URL: ps.String("url"), Output: ps.String("output")}
	var err error
	if err = endpoint.Input(ps, "input", false); err != nil {
		return cfg, err
	}
	if _, err = ParseURL(cfg.URL); err != nil {
		return cfg, ps.Invalid("url", err)
	}
	if err = endpoint.Output(ps, "output", false); err != nil {
		return cfg, err
	}
	if cfg.Mode, err = ParseMode(ps.String("mode")); err != nil {
		return cfg, ps.Invalid("mode", err)
	}
	if cfg.OnError, err = ParseErrorPolicy(ps.String("on-error")); err != nil {
		return cfg, ps.Invalid("on-error", err)
	}
	if cfg.Capacity, err = ps.IntAtLeast("capacity", 1); err != nil {
		return cfg, err
	} else if err = (async.Config{Capacity: cfg.Capacity, Retry: async.NoRetry()}).Validate(); err != nil {
		return cfg, ps.Invalid("capacity", err)
	}
	if cfg.Timeout, err = ps.Duration("timeout"); err != nil {
		return cfg, err
	} else if cfg.Timeout < 0 {
		return cfg, ps.Invalid("timeout", errors.New("must not be negative"))
	}
	attempts, err := ps.IntAtLeast("retries", 1)
	if err != nil {
		return cfg, err
	}
	if cfg.Retry, err = ParseRetry(attempts, ps.String("backoff")); err != nil {
		return cfg, ps.Invalid("backoff", err)
	}
	return cfg, nil
}
