package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/cmd/node/rest"
	"github.com/troupe-dev/troupe/examples/nexmark"
	"github.com/troupe-dev/troupe/examples/wordcount"
	"github.com/troupe-dev/troupe/testkit"
)

// The cluster's own tests: nodes are child processes of the node binary
// (testkit.StartCluster), on loopback ports the OS chose.

// startCluster starts n nodes of the binary the package's tests share.
func startCluster(t testing.TB, n int, opts ...testkit.ClusterOption) *testkit.Cluster {
	t.Helper()
	return testkit.StartCluster(t, n, append([]testkit.ClusterOption{testkit.WithNodeBinary(nodeBinary(t))}, opts...)...)
}

// nonCoordinator returns the index of a node that does not coordinate.
func nonCoordinator(t *testing.T, c *testkit.Cluster) int {
	t.Helper()
	coord := c.Coordinator()
	for i := range c.Size() {
		if i != coord && c.Running(i) {
			return i
		}
	}
	t.Fatal("every node coordinates")
	return -1
}

func allNames(c *testkit.Cluster) []string {
	var names []string
	for i := range c.Size() {
		names = append(names, c.Name(i))
	}
	return names
}

// Three nodes form one cluster; wordcount submitted to a node that does
// not coordinate runs on all three and commits exactly what one node
// commits; once it ends, no node holds a slot.
func TestCluster_wordcountAcrossThreeNodes(t *testing.T) {
	start := time.Now()
	c := startCluster(t, 3, testkit.WithSlots(2))
	t.Logf("three nodes started and converged in %v", time.Since(start).Round(time.Millisecond))
	for i := range 3 {
		if ms := c.Members(i); len(ms) != 3 {
			t.Fatalf("%s lists %d members", c.Name(i), len(ms))
		}
	}
	input := crashInput(t, 3000)
	ref := t.TempDir()
	if code, _, errOut := node(t, wordcountArgs(input, ref, t.TempDir(), 0)...); code != 0 {
		t.Fatalf("single-node run: exit %d, stderr %s", code, errOut)
	}
	want, _ := outputLines(t, ref)

	out := t.TempDir()
	via := nonCoordinator(t, c)
	submitted := time.Now()
	id := c.Submit(via, cluster.JobRequest{Pipeline: "wordcount", Parallelism: 6, CheckpointInterval: "200ms",
		Params: map[string]string{"input": input, "output": out, "rate": "500"}})
	running := c.WaitJob(id, 30*time.Second, "placed on every node", func(st cluster.JobStatus) bool {
		return slices.Equal(testkit.NodesOf(st), allNames(c))
	})
	t.Logf("job running on %v %v after submission", testkit.NodesOf(running), time.Since(submitted).Round(time.Millisecond))
	if st := c.Wait(id, 60*time.Second); st.State != cluster.StateFinished {
		t.Fatalf("job ended %s: %s", st.State, st.Failure)
	}
	got, hidden := outputLines(t, out)
	if !slices.Equal(got, want) {
		t.Errorf("the cluster committed %d lines, one node %d", len(got), len(want))
	}
	if len(hidden) > 0 {
		t.Errorf("uncommitted files left: %q", hidden)
	}
	waitSlotsFree(t, c)
}

// waitSlotsFree waits until every member reports no slot in use.
func waitSlotsFree(t *testing.T, c *testkit.Cluster) {
	t.Helper()
	var last []cluster.MemberStatus
	deadline := time.Now().Add(testkit.Dilated(10 * time.Second))
	for time.Now().Before(deadline) {
		last = c.Members(0)
		used := 0
		for _, m := range last {
			used += m.SlotsUsed
		}
		if used == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond) // gossip carries the counts
	}
	t.Fatalf("slots still in use after the job ended: %+v", last)
}

// A subtask that fails on a node other than the coordinator's restarts
// the job from its latest checkpoint, and the committed output is still
// exactly once.
func TestCluster_remoteFailureRestartsExactlyOnce(t *testing.T) {
	c := startCluster(t, 3, testkit.WithSlots(2),
		testkit.WithNodeEnv(faultEnv+"=operator=count,record=1500,node=n3"))
	if c.Coordinator() == 2 {
		t.Skip("n3 coordinates; the fault is meant for a node that does not") // the oldest coordinates: n1
	}
	input := crashInput(t, 6000)
	out := t.TempDir()
	id := c.Submit(0, cluster.JobRequest{Pipeline: "wordcount", Parallelism: 6, CheckpointInterval: "100ms",
		Params: map[string]string{"input": input, "output": out, "rate": "1000"}})
	st := c.Wait(id, 90*time.Second)
	if st.State != cluster.StateFinished {
		t.Fatalf("job ended %s: %s", st.State, st.Failure)
	}
	if st.Restarts < 1 || !strings.Contains(st.Failure, "injected fault") {
		t.Fatalf("restarts %d, failure %q: the fault on n3 did not fire", st.Restarts, st.Failure)
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

// Nexmark q5 and q8 at parallelism 6 over three nodes give the plain-Go
// reference answer.
func TestCluster_nexmarkMatchesReference(t *testing.T) {
	c := startCluster(t, 3, testkit.WithSlots(2))
	g, err := nexmark.NewGenerator(nexmark.GeneratorConfig{EventsPerSecond: 1000, MaxDisorder: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	evs := g.Events(0, 20000)
	input := writeNexmarkEvents(t, evs)
	for _, q := range []string{"q5", "q8"} {
		t.Run(q, func(t *testing.T) {
			out := t.TempDir()
			id := c.Submit(1, cluster.JobRequest{Pipeline: "nexmark", Parallelism: 6, CheckpointInterval: "200ms",
				Params: map[string]string{"query": q, "input": input, "output": out}})
			if st := c.Wait(id, 60*time.Second); st.State != cluster.StateFinished {
				t.Fatalf("job ended %s: %s", st.State, st.Failure)
			}
			want, err := nexmark.ReferenceRows(q, evs)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := outputLines(t, out)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%d rows, the reference %d; first differences: %s", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

func writeNexmarkEvents(t *testing.T, evs []nexmark.Event) string {
	t.Helper()
	var b strings.Builder
	for _, e := range evs {
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %s, want %s", i, got[i], want[i])
		}
	}
	return "one is a prefix of the other"
}

// A savepoint taken from a three-node job at parallelism 6 restores into
// node run at parallelism 2; the two runs together commit exactly what
// one run without a stop commits.
func TestCluster_savepointRestoresIntoNodeRun(t *testing.T) {
	c := startCluster(t, 3, testkit.WithSlots(2))
	input := crashInput(t, 6000)
	out := t.TempDir()
	id := c.Submit(2, cluster.JobRequest{Pipeline: "wordcount", Parallelism: 6, CheckpointInterval: "200ms",
		Params: map[string]string{"input": input, "output": out, "rate": "500"}})
	c.WaitJob(id, 30*time.Second, "checkpointed", func(st cluster.JobStatus) bool { return st.LatestCheckpoint != nil })
	path, err := c.Client(0).Savepoint(context.Background(), id, true)
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Wait(id, 30*time.Second); st.State != cluster.StateFinished {
		t.Fatalf("after stop with savepoint: %s %s", st.State, st.Failure)
	}
	args := append(wordcountArgs(input, out, t.TempDir(), 0), "--restore", path, "--parallelism", "2")
	if code, _, errOut := node(t, args...); code != 0 {
		t.Fatalf("node run --restore %s: exit %d, stderr %s", path, code, errOut)
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

// Bad submissions get a 4xx naming the field, from any node: an unknown
// pipeline, bad parameters, a restore path that does not exist, a bad
// interval, a malformed JSON body.
func TestCluster_badSubmissions(t *testing.T) {
	c := startCluster(t, 2, testkit.WithSlots(2))
	cases := []struct {
		name  string
		req   cluster.JobRequest
		field string
	}{
		{"unknown pipeline", cluster.JobRequest{Pipeline: "nope"}, "pipeline"},
		{"bad parameter", cluster.JobRequest{Pipeline: "wordcount", Params: map[string]string{"input": "/no/such/file"}}, "params"},
		{"undeclared parameter", cluster.JobRequest{Pipeline: "generate", Params: map[string]string{"colour": "red"}}, "params"},
		{"restore path", cluster.JobRequest{Pipeline: "generate", Restore: "/no/such/savepoint"}, "restore"},
		{"checkpoint interval", cluster.JobRequest{Pipeline: "generate", CheckpointInterval: "soon"}, "checkpointInterval"},
	}
	for _, tc := range cases {
		for i := range 2 {
			_, err := c.Client(i).Submit(context.Background(), tc.req)
			var apiErr *rest.APIError
			if !errors.As(err, &apiErr) || !errors.Is(err, cluster.ErrBadRequest) || apiErr.Field() != tc.field {
				t.Errorf("%s via %s: %v, want a bad request naming %q", tc.name, c.Name(i), err, tc.field)
			}
		}
	}
	// A malformed body, as a client other than ours would send it.
	for i := range 2 {
		res, err := http.Post("http://"+c.HTTPAddr(i)+"/v1/jobs", "application/json", strings.NewReader(`{"pipeline": "wordcount",`))
		if err != nil {
			t.Fatal(err)
		}
		var body rest.ErrorBody
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || err != nil || body.Field != "body" {
			t.Errorf("malformed JSON via %s: %d %+v (%v), want 400 naming the body", c.Name(i), res.StatusCode, body, err)
		}
	}
}

// Cancel stops every subtask on every node: the job ends cancelled and
// no node holds a slot.
func TestCluster_cancel(t *testing.T) {
	c := startCluster(t, 3, testkit.WithSlots(2))
	id := c.Submit(1, cluster.JobRequest{Pipeline: "generate", Parallelism: 6, Params: map[string]string{"rate": "100"}})
	c.WaitJob(id, 30*time.Second, "running on every node", func(st cluster.JobStatus) bool {
		return st.State == cluster.StateRunning && slices.Equal(testkit.NodesOf(st), allNames(c))
	})
	if err := c.Client(2).Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if st := c.Wait(id, 30*time.Second); st.State != cluster.StateCancelled {
		t.Fatalf("job ended %s", st.State)
	}
	waitSlotsFree(t, c)
}
