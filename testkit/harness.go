package testkit

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// HarnessOption configures an operator harness.
type HarnessOption func(*harnessConfig)

type harnessConfig struct {
	parallelism, maxParallelism, subtask int
	start                                time.Time
	expectFailure                        bool
	noCopyCheck                          bool
	restore                              []*Snapshot
	checkpointing                        bool
	stateBackend                         string                                     // operators.StateBackendHeap (""), StateBackendBolt
	actorOpts                            []actors.ActorOption                       // WithActorOptions
	sides                                []func(t testing.TB, out any) sideRecorder // WithSideOutput
}

// WithSubtask runs subtask index of an operator with the given
// parallelism (default: subtask 0 of 1). Keyed harnesses then accept only
// keys whose key groups that subtask owns, as the runtime would route them.
func WithSubtask(index, parallelism int) HarnessOption {
	return func(c *harnessConfig) { c.subtask, c.parallelism = index, parallelism }
}

// WithMaxParallelism sets the number of key groups (default 128).
func WithMaxParallelism(n int) HarnessOption {
	return func(c *harnessConfig) { c.maxParallelism = n }
}

// WithProcessingTime starts the harness's processing-time clock at t
// (default: 2026-01-01 00:00:00 UTC, so that tests are reproducible).
func WithProcessingTime(t time.Time) HarnessOption {
	return func(c *harnessConfig) { c.start = t }
}

// ExpectFailure lets the operator fail: steps then record the failure,
// which Err returns, instead of failing the test.
func ExpectFailure() HarnessOption {
	return func(c *harnessConfig) { c.expectFailure = true }
}

// WithCheckpointing opens the operators as in a job that takes
// checkpoints (TaskContext.Checkpointing): operators that commit their
// output in two phases then wait for NotifyCheckpointComplete.
func WithCheckpointing() HarnessOption {
	return func(c *harnessConfig) { c.checkpointing = true }
}

// WithStateBackend keeps the operators' keyed state in the named backend
// (operators.StateBackendHeap, the default, or StateBackendBolt, whose
// files go to a directory of the test's).
func WithStateBackend(name string) HarnessOption {
	return func(c *harnessConfig) { c.stateBackend = name }
}

// WithoutCopyCheck turns off the check that the operator does not mutate
// values after emitting them (for output types the codec cannot encode).
func WithoutCopyCheck() HarnessOption {
	return func(c *harnessConfig) { c.noCopyCheck = true }
}

func newHarnessConfig(opts []HarnessOption) harnessConfig {
	c := harnessConfig{parallelism: 1, maxParallelism: 128, start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// core is the untyped part of a harness: one opened chain driven from the
// test's goroutine, exactly as a subtask actor drives it.
type core struct {
	t      testing.TB
	cfg    harnessConfig
	chain  *operators.Chain
	vertex *operators.Vertex
	graph  *operators.JobGraph
	// upstream is the chain before the subtask under test that the
	// harness runs too (EventTimeHarness's assigner); nil for none.
	upstream *operators.Chain
	clock    *ManualClock
	inputCh  []int // logical input → channel index at the subtask
	host     *harnessHost
	err      error
	steps    int
	sides    []sideRecorder // side outputs recorded (WithSideOutput)
	ending   bool           // EndInput was called
}

// build compiles the pipeline around the operator and opens the subtask of
// its vertex, which must be the only one between inputs and output.
func (c *core) build(p *operators.Pipeline, inputs int, ship operators.Shipper) {
	c.t.Helper()
	g, err := p.Build()
	if err != nil {
		c.t.Fatalf("harness: build: %v", err)
	}
	if len(g.Vertices) != inputs+2+len(c.sides) {
		c.t.Fatalf("harness: the operators under test must run in one subtask (chained); got vertices %s", vertexNames(g.Vertices))
	}
	c.graph, c.vertex = g, g.Vertices[inputs]
	if c.cfg.subtask < 0 || c.cfg.subtask >= c.vertex.Parallelism {
		c.t.Fatalf("harness: subtask %d out of range for parallelism %d", c.cfg.subtask, c.vertex.Parallelism)
	}
	c.mapInputs(g.Vertices[:inputs])
	c.clock = NewManualClock(c.cfg.start)
	c.host = &harnessHost{actors: actorSide{t: c.t, wait: DefaultTimeout()}}
	chain, err := c.vertex.Open(operators.ChainConfig{Job: "harness", Subtask: c.cfg.subtask, BatchSize: 1,
		Ship: ship, Logger: slog.New(slog.DiscardHandler), Now: c.clock.Now, Wake: func() {}, Host: c.host,
		Restore: c.restoreParts(), Checkpointing: c.cfg.checkpointing, StateBackend: c.cfg.stateBackend, StateDir: c.stateDir()})
	if err != nil {
		c.t.Fatalf("harness: open: %v", err)
	}
	c.chain = chain
	c.t.Cleanup(func() {
		if err := c.chain.Close(); err != nil && c.err == nil {
			c.t.Errorf("harness: close: %v", err)
		}
	})
}

// stateDir returns a directory for the bbolt backend's files; "" for the
// heap.
func (c *core) stateDir() string {
	if c.cfg.stateBackend != operators.StateBackendBolt {
		return ""
	}
	return c.t.TempDir()
}

func (c *core) mapInputs(sources []*operators.Vertex) {
	c.inputCh = make([]int, len(sources))
	for ch, in := range c.vertex.InputChannels(c.cfg.subtask) {
		if i := slices.Index(sources, in.Edge.From); i >= 0 {
			c.inputCh[i] = ch
		}
	}
}

func vertexNames(vs []*operators.Vertex) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = fmt.Sprintf("%q", v.Name)
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// step runs one action on the chain and checks for an operator failure.
func (c *core) step(what string, fn func()) {
	c.t.Helper()
	if c.err != nil {
		c.t.Fatalf("harness: %s after the operator failed: %v", what, c.err)
	}
	fn()
	c.settle(what)
	c.steps++
	if err := c.chain.Err(); err != nil && c.err == nil {
		c.fail(what, err)
	}
}

// settle ends the batch, as the subtask does after every message, and
// hands the chain the replies of actor operators' actors until none is
// awaited, so that a step ends with nothing in flight.
func (c *core) settle(what string) {
	for {
		if c.chain.Pending() && c.chain.Err() == nil {
			// what the chain holds goes out, as the subtask resumes its
			// chain once the job has started: a restored async
			// operator's results wait for that (the harness's output
			// never waits for credit, so one Resume lets all out)
			c.chain.Resume()
		}
		if c.ending && !c.chain.Ended() && c.chain.Err() == nil {
			// an operator held its end back (async replies); end the rest now
			// if it let go, as the subtask does after every message
			if err := c.chain.EndInput(); err != nil && c.chain.Err() == nil {
				c.fail(what, err)
			}
			c.chain.Flush()
		}
		c.chain.BatchEnd()
		if c.host.actors.pending == 0 || c.chain.Err() != nil || c.err != nil {
			return
		}
		c.reply(what)
	}
}

// reply waits for one reply of an actor operator's actor and hands it to
// the chain, as the subtask does; a failure of the actor, or no reply in
// time, fails the operator.
func (c *core) reply(what string) {
	c.t.Helper()
	m, err := c.host.actors.next()
	if err == nil && !c.chain.HandleMessage(m) {
		err = fmt.Errorf("%w: %T", actors.ErrUnexpectedMessage, m)
	}
	if err == nil {
		err = c.chain.Err()
	}
	if err != nil {
		c.fail(what, err)
		return
	}
	if st, ok := m.(*actors.State); ok {
		c.host.actors.lastState = st.Entries
	}
}

func (c *core) fail(what string, err error) {
	c.t.Helper()
	c.err = err
	if !c.cfg.expectFailure {
		c.t.Fatalf("harness: %s: operator failed: %v", what, err)
	}
}

func (c *core) processWatermark(input int, wm int64) {
	c.t.Helper()
	c.step(fmt.Sprintf("watermark %d", wm), func() { c.chain.ProcessWatermark(c.inputCh[input], wm) })
}

func (c *core) setIdle(input int, idle bool) {
	c.t.Helper()
	c.step(fmt.Sprintf("set idle %v", idle), func() { c.chain.SetIdle(c.inputCh[input], idle) })
}

// advanceTo moves processing time to t and fires what is due, including
// what the fired operators make due by t.
func (c *core) advanceTo(t time.Time) {
	c.t.Helper()
	now := c.clock.Now()
	if t.Before(now) {
		c.t.Fatalf("harness: processing time cannot go back from %v to %v", now, t)
	}
	c.clock.Advance(t.Sub(now))
	c.step("processing time "+t.Format(time.RFC3339Nano), func() {
		for range 10000 {
			chain, at, ok := c.nextProcessingTime()
			if !ok || at.After(t) || c.chain.Err() != nil {
				return
			}
			chain.OnProcessingTime(t)
			chain.Flush()
			c.settle("processing time")
			if err := chain.Err(); err != nil && chain == c.upstream {
				c.fail("timestamp assigner", err)
				return
			}
		}
		c.t.Fatalf("harness: an operator keeps asking for processing time %v or earlier", t)
	})
}

// nextProcessingTime returns the chain whose processing-time action is
// due first, the upstream one first on a tie (its watermark comes before
// what the subtask under test does at that time).
func (c *core) nextProcessingTime() (*operators.Chain, time.Time, bool) {
	at, ok := c.chain.NextProcessingTime()
	if c.upstream != nil {
		if up, upOK := c.upstream.NextProcessingTime(); upOK && (!ok || !up.After(at)) {
			return c.upstream, up, true
		}
	}
	return c.chain, at, ok
}

func (c *core) endInput() {
	c.t.Helper()
	c.ending = true
	c.step("end of input", func() {
		if err := c.chain.EndInput(); err != nil && c.chain.Err() == nil {
			c.fail("end of input", err)
		}
		c.chain.Flush()
	})
}
