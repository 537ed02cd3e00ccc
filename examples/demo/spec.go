package demo

import (
	"errors"
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// Defaults of the demo's parameters.
const (
	DefaultRate        = 2000
	DefaultParallelism = 2 // of the window and the enrichment; a job's parallelism overrides it
)

// Spec registers the demo pipeline: its parameters are rate and start
// (the event time of the first event, epoch ms; node start --demo sets it
// to the submission time).
func Spec() actors.PipelineSpec {
	return actors.PipelineSpec{
		Name:        Name,
		Description: "the dashboard demo: Nexmark bids counted per auction in 5 s windows, enriched by an async lookup; unbounded",
		Params: []actors.Param{
			{Name: "rate", Description: "events per second", Default: fmt.Sprint(DefaultRate)},
			{Name: "start", Description: "event time of the first event, epoch ms; 0: the Nexmark base time", Default: "0"},
		},
		Build: build,
	}
}

func build(ps actors.Params) (*operators.Pipeline, error) {
	rate, err := ps.Float("rate")
	if err != nil {
		return nil, err
	}
	if rate <= 0 {
		return nil, ps.Invalid("rate", errors.New("must be positive"))
	}
	start, err := ps.Int("start")
	if err != nil {
		return nil, err
	}
	cfg := Config{Rate: rate, Parallelism: DefaultParallelism}
	if start > 0 {
		cfg.Start = time.UnixMilli(int64(start))
	}
	return New(cfg)
}
