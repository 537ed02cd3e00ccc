package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
)

// Review 14: tests of the metrics, each failing on a defect it names.

// Finding: a job agent samples its subtasks from the moment it has
// spawned them, but a subtask is deployed (its chain opened, its clock
// started) only when the master wires the attempt, once every agent of
// the attempt is ready: on other nodes they may take seconds (a restore
// plan read from the store, a slow node). A subtask sampled before its
// deploy reported watermarks of 0 — event time 1970 — so
// troupe_subtask_input_watermark_seconds was 0 and
// troupe_subtask_watermark_lag_seconds some 56 years, firing any "event
// time falling behind" alert at every deployment; and its busy time was
// the time since year 1 (a zero start), a counter that then went back
// to 0 at the deploy.
func TestReview14_subtaskSampledBeforeItsDeploy(t *testing.T) {
	e := newTestEngine(t, fastMetrics)
	g := review14Graph(t)
	spawnUnwiredAgent(t, e, g, 1)

	var samples []SubtaskMetrics
	deadline := time.Now().Add(30 * time.Second)
	for len(samples) < len(g.Vertices) {
		if time.Now().After(deadline) {
			t.Fatalf("no samples of the spawned subtasks within 30 s: %+v", samples)
		}
		time.Sleep(5 * time.Millisecond)
		samples = e.SubtaskMetrics()
	}
	for _, s := range samples {
		if s.InputWatermark != operators.MinWatermark || s.OutputWatermark != operators.MinWatermark {
			t.Errorf("%s before its deploy: watermarks in %d, out %d; want none (MinWatermark)", s.Vertex, s.InputWatermark, s.OutputWatermark)
		}
		if lag, ok := s.WatermarkLag(); ok {
			t.Errorf("%s before its deploy: a watermark lag of %v", s.Vertex, lag)
		}
		if s.Busy != 0 || s.Idle != 0 || s.Backpressured != 0 {
			t.Errorf("%s before its deploy: busy %v, idle %v, backpressured %v; want none (its clock has not started)",
				s.Vertex, s.Busy, s.Idle, s.Backpressured)
		}
	}
}

func review14Graph(t *testing.T) *operators.JobGraph {
	t.Helper()
	p := operators.NewPipeline("review14")
	operators.Discard(operators.Map(operators.Generate(p, -1, func(i int64) int64 { return i }).Name("numbers").Rebalance(),
		func(v int64) int64 { return v }).Name("same"))
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// spawnUnwiredAgent starts the job agent of attempt of run "r14" of g on
// e, for a master that never wires the attempt: its subtasks stay
// spawned, not deployed, as while other agents are getting ready. The
// agent and its master stop when the test ends.
func spawnUnwiredAgent(t *testing.T, e *Engine, g *operators.JobGraph, attempt int) {
	t.Helper()
	master, err := e.sys.Root.SpawnNamed(actor.PropsFromFunc(func(actor.Context) {}), fmt.Sprintf("review14-master-%d", attempt))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sys.Root.StopFuture(master).Wait() })
	spec := agentSpec{run: "r14", job: g.Name, attempt: attempt, graph: g, cfg: e.cfg, master: master, local: true,
		stats: &e.stats, metrics: &e.metrics}
	for i, v := range g.Vertices {
		spec.subtasks = append(spec.subtasks, subtaskSpec{id: i, vertex: v, index: 0})
	}
	agent, err := e.sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return newAgent(spec) }),
		fmt.Sprintf("review14-agent-%d", attempt))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sys.Root.StopFuture(agent).Wait() })
}

// Finding: an engine may run two attempts of one run at once: the agents
// of an attempt given up on (their node was thought lost, or the job's
// lease was lost and it is being cancelled here) still run while the
// next attempt (or the new owner's) deploys on the same node. Both
// published their samples, and SubtaskMetrics returned two samples of
// one subtask — the same job_id, operator and subtask labels. Prometheus
// takes one series per label set: the registry refused the second as a
// duplicate (an error at each scrape), and which one was kept changed
// from scrape to scrape (the table is a map), so the counters jumped
// between the old attempt's counts and the new one's: every drop is a
// counter reset to rate(), which adds the whole new value each time. The
// node exports the newest attempt's sample of each subtask.
func TestReview14_twoAttemptsOfOneRunOnOneEngine(t *testing.T) {
	e := newTestEngine(t, fastMetrics)
	g := review14Graph(t)
	spawnUnwiredAgent(t, e, g, 1)
	spawnUnwiredAgent(t, e, g, 2)
	// Both agents have published samples of every subtask.
	published := func() bool {
		e.metrics.mu.Lock()
		defer e.metrics.mu.Unlock()
		n := 0
		for _, samples := range e.metrics.byAgent {
			if len(samples) == len(g.Vertices) {
				n++
			}
		}
		return n == 2
	}
	deadline := time.Now().Add(30 * time.Second)
	for !published() {
		if time.Now().After(deadline) {
			t.Fatal("the two agents did not publish samples of their subtasks within 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	type key struct{ vertex, subtask int }
	seen := map[key]int{}
	for _, s := range e.SubtaskMetrics() {
		k := key{s.VertexID, s.Subtask}
		if a, dup := seen[k]; dup {
			t.Errorf("two samples of %s subtask %d of run %s: attempts %d and %d", s.Vertex, s.Subtask, s.Run, a, s.Attempt)
		}
		seen[k] = s.Attempt
		if s.Attempt != 2 {
			t.Errorf("%s subtask %d: the sample of attempt %d, want the newest attempt's (2)", s.Vertex, s.Subtask, s.Attempt)
		}
	}
}
