package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/examples/wordcount"
	"github.com/troupe-dev/troupe/testkit"
)

// Failover: nodes lost while a job runs (issue 12).

// checkWordcount checks that out holds exactly the counts of input's
// words, committed, with nothing left uncommitted.
func checkWordcount(t *testing.T, input, out string) {
	t.Helper()
	got, hidden := outputLines(t, out)
	text, _ := os.ReadFile(input)
	if err := wordcount.Verify(strings.NewReader(strings.Join(got, "\n")), wordcount.Totals(string(text))); err != nil {
		t.Error(err)
	}
	if len(hidden) > 0 {
		t.Errorf("uncommitted files left: %q", hidden)
	}
}

// waitCheckpoint waits until job id has completed a checkpoint.
func waitCheckpoint(c *testkit.Cluster, id string) cluster.JobStatus {
	return c.WaitJob(id, 30*time.Second, "a completed checkpoint", func(st cluster.JobStatus) bool {
		return st.LatestCheckpoint != nil
	})
}

// SIGKILL of a node that does not coordinate, mid-run: the job runs again
// on the two nodes left and commits exactly the counts; the node started
// again joins and a new job uses it.
func TestFailover_killedNodeJobResumesOnSurvivors(t *testing.T) {
	c := testkit.StartCluster(t, 3, testkit.WithSlots(3))
	input := crashInput(t, 6000)
	out := t.TempDir()
	id := c.Submit(0, cluster.JobRequest{Pipeline: "wordcount", Parallelism: 6, CheckpointInterval: "200ms",
		Params: map[string]string{"input": input, "output": out, "rate": "1500"}})
	victim := nonCoordinator(t, c)
	c.WaitJob(id, 30*time.Second, "placed on the victim", func(st cluster.JobStatus) bool {
		return slices.Contains(testkit.NodesOf(st), c.Name(victim))
	})
	waitCheckpoint(c, id)
	killed := time.Now()
	c.KillNode(victim)
	again := c.WaitJob(id, 30*time.Second, "running again without the victim", func(st cluster.JobStatus) bool {
		nodes := testkit.NodesOf(st)
		return st.Restarts >= 1 && len(nodes) > 0 && !slices.Contains(nodes, c.Name(victim)) && st.State == cluster.StateRunning
	})
	t.Logf("running again on %v %v after SIGKILL (cause: %s)", testkit.NodesOf(again), time.Since(killed).Round(time.Millisecond), again.Failure)
	if !strings.Contains(again.Failure, c.Name(victim)) {
		t.Errorf("failure %q does not name the lost node %s", again.Failure, c.Name(victim))
	}
	if st := c.Wait(id, 90*time.Second); st.State != cluster.StateFinished {
		t.Fatalf("job ended %s: %s", st.State, st.Failure)
	}
	checkWordcount(t, input, out)

	c.StartNode(victim)
	c.WaitMembers(3)
	input2 := crashInput(t, 1000)
	out2 := t.TempDir()
	id2 := c.Submit(0, cluster.JobRequest{Pipeline: "wordcount", Parallelism: 9,
		Params: map[string]string{"input": input2, "output": out2}})
	c.WaitJob(id2, 30*time.Second, "placed on the restarted node", func(st cluster.JobStatus) bool {
		return slices.Contains(testkit.NodesOf(st), c.Name(victim))
	})
	if st := c.Wait(id2, 60*time.Second); st.State != cluster.StateFinished {
		t.Fatalf("second job ended %s: %s", st.State, st.Failure)
	}
	checkWordcount(t, input2, out2)
}
