// Command node is the troupe node: it runs registered pipelines by name.
// Its command line is package cli; this file only registers the built-in
// pipelines. Run "node --help" for usage.
package main

import (
	"fmt"
	"os"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cmd/node/cli"
	"github.com/troupe-dev/troupe/examples/clickstream"
	"github.com/troupe-dev/troupe/examples/demo"
	"github.com/troupe-dev/troupe/examples/enrich"
	"github.com/troupe-dev/troupe/examples/fraud"
	"github.com/troupe-dev/troupe/examples/nexmark"
	"github.com/troupe-dev/troupe/examples/wordcount"
	"github.com/troupe-dev/troupe/operators"
)

// builtins are the pipelines every node can run: one line per pipeline.
var builtins = []func() actors.PipelineSpec{
	wordcount.Spec,
	generateSpec,
	enrich.Spec,
	nexmark.Spec,
	clickstream.Spec,
	fraud.Spec,
	demo.Spec,
}

func main() {
	reg := actors.NewRegistry()
	for _, spec := range builtins {
		reg.MustRegister(spec())
	}
	os.Exit(cli.Main(os.Args[1:], reg, os.Stdout, os.Stderr, cli.WithStart(startClusterNode)))
}

// number is a record of the generate pipeline.
type number struct {
	Seq    int64 `json:"seq"`
	Square int64 `json:"square"`
}

// generateSpec is the unbounded demo: a sequence of integers through a map
// to standard output, at a modest rate by default, so that stopping a job
// with Ctrl-C can be tried (and tested).
func generateSpec() actors.PipelineSpec {
	return actors.PipelineSpec{
		Name:        "generate",
		Description: "emit 0, 1, 2, ... with their squares as JSON lines; unbounded unless count is set",
		Params: []actors.Param{
			{Name: "count", Description: "how many numbers; negative: unbounded", Default: "-1"},
			{Name: "rate", Description: "numbers per second per source subtask; 0: unlimited", Default: "1000"},
		},
		Build: buildGenerate,
	}
}

func buildGenerate(ps actors.Params) (*operators.Pipeline, error) {
	count, err := ps.Int("count")
	if err != nil {
		return nil, err
	}
	rate, err := ps.Float("rate")
	if err != nil {
		return nil, err
	}
	if rate < 0 {
		return nil, fmt.Errorf("%w: rate=%q: must not be negative", actors.ErrBadParam, ps.String("rate"))
	}
	p := operators.NewPipeline("generate")
	seq := operators.Generate(p, int64(count), func(n int64) int64 { return n }, operators.RateLimit(rate)).Name("numbers")
	squares := operators.Map(seq, func(n int64) number { return number{Seq: n, Square: n * n} }).Name("square")
	operators.WriteJSONLines(squares, os.Stdout).Name("sink")
	return p, nil
}
