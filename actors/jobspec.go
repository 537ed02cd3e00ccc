package actors

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
)

// JobSpec is a registered pipeline to run. Every node builds the same job
// graph from it with its registry (every node runs the same binary), so
// its subtasks may run on any node.
type JobSpec struct {
	// Pipeline is the registered pipeline's name.
	Pipeline string
	// Params are the pipeline's parameter values; missing ones take their
	// defaults.
	Params map[string]string
	// Parallelism overrides the pipeline's default parallelism; 0 keeps
	// it.
	Parallelism int
	// Checkpoint overrides the engine's checkpoint configuration for this
	// job; nil keeps the engine's. A nil Store in it keeps the engine's
	// store. Subtasks on other nodes write their state to the store that
	// their own engine's configuration opens for the run: in a cluster
	// every node must open the same shared storage.
	Checkpoint *CheckpointConfig
	// StateBackend overrides the engine's state backend; "" keeps it.
	// Every node keeps its bbolt files in its own Config.StateDir.
	StateBackend string
	// Restart overrides the engine's restart strategy; nil keeps it (the
	// engine's default follows the job's checkpointing: with checkpoints,
	// exponential delay).
	Restart RestartStrategy
}

// SubmitSpec builds the registered pipeline that spec names and submits
// it, as Submit does. It validates everything it can before returning: an
// unknown pipeline gives an error wrapping ErrUnknownPipeline, a bad
// parameter one wrapping ErrBadParam, an invalid configuration one
// wrapping ErrConfig, and a RestoreFrom path that cannot be opened or
// belongs to another pipeline one wrapping ErrRestore. With WithPlacer
// the job's slots may be placed on task managers of other nodes.
func (e *Engine) SubmitSpec(reg *Registry, spec JobSpec, opts ...SubmitOption) (*Job, error) {
	g, err := buildSpec(reg, spec)
	if err != nil {
		return nil, err
	}
	cfg, err := e.jobConfig(spec)
	if err != nil {
		return nil, err
	}
	return e.submit(g, cfg, &spec, opts)
}

// buildSpec builds the job graph of spec with reg.
func buildSpec(reg *Registry, spec JobSpec) (*operators.JobGraph, error) {
	p, err := reg.Build(spec.Pipeline, spec.Params, spec.Parallelism)
	if err != nil {
		return nil, err
	}
	g, err := p.Build()
	if err != nil {
		return nil, fmt.Errorf("actors: pipeline %q: %w", spec.Pipeline, err)
	}
	return g, nil
}

// jobConfig is the engine's configuration with spec's overrides applied.
func (e *Engine) jobConfig(spec JobSpec) (Config, error) {
	cfg := e.cfg
	if spec.Checkpoint != nil {
		c := *spec.Checkpoint
		if c.Store == nil {
			c.Store, c.mem = e.cfg.Checkpoint.Store, e.cfg.Checkpoint.mem
		}
		cfg.Checkpoint = c
	}
	if spec.StateBackend != "" {
		cfg.StateBackend = spec.StateBackend
	}
	switch {
	case spec.Restart != nil:
		cfg.Restart = spec.Restart
	case e.restartDefault:
		cfg.Restart = nil // validate derives it from the job's checkpointing
	}
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// wireSpec is the job spec as StartAgent carries it.
func wireSpec(spec *JobSpec, fingerprint string) *wire.JobSpec {
	return &wire.JobSpec{Pipeline: spec.Pipeline, Params: maps.Clone(spec.Params),
		Parallelism: int32(spec.Parallelism), Fingerprint: fingerprint}
}

// graphFingerprint identifies a job graph's shape: its vertices (ids,
// operators, parallelism) and edges (partitioning, inputs, side-output
// tags). Two nodes that build a job from the same spec must get the same
// fingerprint; a different one means different binaries, whose subtasks
// could not talk to each other.
func graphFingerprint(g *operators.JobGraph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "job %q max %d\n", g.Name, g.MaxParallelism)
	for _, v := range g.Vertices {
		fmt.Fprintf(&b, "v %d %q p %d max %d src %t sink %t\n", v.ID, v.Name, v.Parallelism, v.MaxParallelism, v.IsSource(), v.IsSink())
		for _, in := range v.Inputs {
			fmt.Fprintf(&b, " in %d %v input %d tag %q\n", in.From.ID, in.Partitioning, in.Input, in.Tag)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}

// specParams lists spec's parameters as k=v, sorted, for messages.
func specParams(p map[string]string) string {
	kv := make([]string, 0, len(p))
	for _, k := range slices.Sorted(maps.Keys(p)) {
		kv = append(kv, k+"="+p[k])
	}
	return strings.Join(kv, " ")
}
