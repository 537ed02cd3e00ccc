package testkit_test

import (
	"fmt"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// reading is a sensor reading: the generator's sequence number identifies
// it.
type reading struct {
	Seq    int64
	Sensor int
}

// testRestartReplays is a test body: in a test file it is
// func TestRestartReplays(t *testing.T).
func testRestartReplays(t testing.TB) {
	r := testkit.NewRunner(t) // restarts a failed job up to 3 times
	r.Faults().FailAt("scale", testkit.AtRecord(100))

	p := operators.NewPipeline("readings")
	src := operators.Generate(p, 500, func(seq int64) reading { return reading{Seq: seq, Sensor: int(seq % 3)} })
	scaled := operators.Map(src, func(r reading) reading { return r }).Name("scale")
	out := operators.Collect(scaled)

	res := r.Run(p)
	fmt.Println(res.State, "after", res.Restarts, "restart")
	for _, f := range r.Faults().Fired() {
		fmt.Println("fired:", f.Error())
	}

	// Without checkpoints the restarted job replays its source from the
	// start: every reading arrives, some twice.
	sent := map[string][]int64{"gen": testkit.SeqRange(0, 500)}
	id := func(r reading) testkit.RecordID { return testkit.RecordID{Source: "gen", Seq: r.Seq} }
	rep := testkit.AssertAtLeastOnce(t, sent, out.Values(), id, testkit.InOrder[reading]())
	fmt.Println("lost:", rep.Lost, "duplicated:", rep.Duplicated > 0, "exactly once:", rep.OK())
}

// A runner runs a pipeline whose map operator fails at its 100th record in
// the first attempt; the job restarts from scratch and finishes, and the
// checker finds every record committed, some of them twice.
func ExampleRunner() {
	runAsTest(testRestartReplays)
	// Output:
	// finished after 1 restart
	// fired: testkit: injected fault in operator "scale" subtask 0 attempt 0 at record 100
	// lost: 0 duplicated: true exactly once: false
	// passed
}
