package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/examples/wordcount"
	"github.com/troupe-dev/troupe/testkit"
)

// The store on the nodes' embedded NATS servers (--nats-embedded): three
// nodes make one JetStream cluster, and the store's buckets have three
// replicas.

// Wordcount at parallelism 6 over three nodes checkpoints into the
// embedded JetStream cluster and stops with a savepoint; a node that does
// not coordinate is killed; the savepoint restores at parallelism 4 on
// the two nodes left, whose store still answers (its checkpoints succeed
// while the buckets the dead node led elect new leaders), and the two
// runs together commit exactly the counts.
func TestCluster_embeddedNATSStoreSurvivesANode(t *testing.T) {
	c := testkit.StartCluster(t, 3, testkit.WithSlots(2), testkit.WithEmbeddedNATS())
	for i := range 3 {
		if url := c.StoreURL(i); !strings.HasPrefix(url, "nats://") || !strings.HasSuffix(url, "?replicas=3") {
			t.Fatalf("%s uses store %q, want its embedded server with 3 replicas", c.Name(i), url)
		}
	}
	input := crashInput(t, 6000)
	out := t.TempDir()
	id := c.Submit(1, cluster.JobRequest{Pipeline: "wordcount", Parallelism: 6, CheckpointInterval: "200ms",
		Params: map[string]string{"input": input, "output": out, "rate": "500"}})
	st := c.WaitJob(id, 60*time.Second, "checkpointed", func(st cluster.JobStatus) bool { return st.LatestCheckpoint != nil })
	if p := st.LatestCheckpoint.Path; !strings.HasPrefix(p, "nats://troupe-checkpoints/wordcount/"+id+"/chk-") {
		t.Fatalf("checkpoint path %q, want one in the NATS bucket", p)
	}
	path, err := c.Client(0).Savepoint(context.Background(), id, true)
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Wait(id, 30*time.Second); st.State != cluster.StateFinished {
		t.Fatalf("after stop with savepoint: %s %s", st.State, st.Failure)
	}
	t.Logf("savepoint %s", path)

	victim := nonCoordinator(t, c)
	t.Logf("killing %s, which leads %v", c.Name(victim), ledBy(t, c.NATSURL(c.Coordinator()), c.Name(victim)))
	killed := time.Now()
	c.KillNode(victim)
	c.WaitMembers(2)
	t.Logf("two members %v after the SIGKILL", time.Since(killed).Round(time.Millisecond))
	via := c.Coordinator()
	id2 := c.Submit(via, cluster.JobRequest{Pipeline: "wordcount", Parallelism: 4, CheckpointInterval: "200ms",
		Restore: path, Params: map[string]string{"input": input, "output": out, "rate": "2000"}})
	c.WaitJob(id2, 60*time.Second, "running", func(st cluster.JobStatus) bool { return st.State == cluster.StateRunning })
	t.Logf("restored job running %v after the SIGKILL", time.Since(killed).Round(time.Millisecond))
	st = c.WaitJob(id2, 60*time.Second, "checkpointed after the loss", func(st cluster.JobStatus) bool { return st.LatestCheckpoint != nil })
	t.Logf("restored and checkpointed %v after the SIGKILL of %s", time.Since(killed).Round(time.Millisecond), c.Name(victim))
	if slices.Contains(testkit.NodesOf(st), c.Name(victim)) {
		t.Fatalf("the restored job runs on the killed node: %v", testkit.NodesOf(st))
	}
	if st := c.Wait(id2, 90*time.Second); st.State != cluster.StateFinished || st.Restarts != 0 {
		// The store retries through the election of new leaders: no
		// checkpoint of the restored job fails for it.
		t.Fatalf("restored job ended %s after %d restarts: %s", st.State, st.Restarts, st.Failure)
	}
	got, hidden := outputLines(t, out)
	text, _ := os.ReadFile(input)
	if err := wordcount.Verify(strings.NewReader(strings.Join(got, "\n")), wordcount.Totals(string(text))); err != nil {
		t.Error(err)
	}
	if len(hidden) > 0 {
		t.Errorf("uncommitted files left: %q", hidden)
	}
}

// ledBy lists the store's streams whose leader is the server named node.
func ledBy(t *testing.T, url, node string) []string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var led []string
	for _, name := range []string{"KV_troupe-jobs", "KV_troupe-checkpoints", "OBJ_troupe-checkpoints"} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		info, err := st.Info(ctx)
		if err != nil || info.Cluster == nil || info.Config.Replicas != 3 {
			t.Fatalf("stream %s: %+v, %v; want 3 replicas", name, info, err)
		}
		if info.Cluster.Leader == node {
			led = append(led, name)
		}
	}
	return led
}
