package actors_test

import (
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// A subtask that fails in the job's final commit — after the final
// checkpoint completed, as a crash there would — restarts the job from
// that checkpoint: the restored sinks commit what it holds, every subtask
// is already finished, and the job finishes with every record committed
// once. The final commit of the new attempt is counted afresh.
func TestEngine_faultInFinalCommit_restoresAndFinishes(t *testing.T) {
	const n = 1000
	r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond))
	r.Faults().FailAtFinalCommit("sink", testkit.InSubtask(1))
	p := operators.NewPipeline("final-commit").SetParallelism(2)
	src := operators.Generate(p, n, func(i int64) int64 { return i }).Name("gen")
	out := operators.Collect(src).Name("sink")
	res := r.Run(p)
	if res.State != actors.JobFinished || res.Restarts != 1 || len(r.Faults().Fired()) != 1 {
		t.Fatalf("got %v with faults %v, want finished after 1 restart", res, r.Faults().Fired())
	}
	testkit.AssertExactlyOnce(t, map[string][]int64{"gen": testkit.SeqRange(0, n)}, out.Values(),
		func(v int64) testkit.RecordID { return testkit.RecordID{Source: "gen", Seq: v} })
}
