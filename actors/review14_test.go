package actors

import (
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
	p := operators.NewPipeline("undeployed")
	operators.Discard(operators.Map(operators.Generate(p, -1, func(i int64) int64 { return i }).Name("numbers").Rebalance(),
		func(v int64) int64 { return v }).Name("same"))
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	// A master that never wires the attempt: the agent's subtasks stay
	// spawned, not deployed, as while other agents are getting ready.
	master, err := e.sys.Root.SpawnNamed(actor.PropsFromFunc(func(actor.Context) {}), "review14-master")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sys.Root.StopFuture(master).Wait() })
	spec := agentSpec{run: "r14", job: g.Name, attempt: 1, graph: g, cfg: e.cfg, master: master, local: true,
		stats: &e.stats, metrics: &e.metrics}
	for i, v := range g.Vertices {
		spec.subtasks = append(spec.subtasks, subtaskSpec{id: i, vertex: v, index: 0})
	}
	agent, err := e.sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return newAgent(spec) }), "review14-agent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sys.Root.StopFuture(agent).Wait() })

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
