package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/testkit"
)

// BenchmarkCluster_startAndSubmit measures, for a fresh cluster of three
// node processes on loopback per iteration (n2 and n3 given the same
// --join: n1's gossip address):
//
//   - converge-ms: from the third node's readiness (its port file written:
//     it serves and has joined its seed) until `node members` on every
//     node lists all three;
//   - start-ms: the same from the launch of the first node's process
//     (three processes started one after the other, each waited for);
//   - running-ms: from the submission of a job at parallelism 6 (to a
//     node that does not coordinate) until it runs — every subtask
//     deployed on its node, the sources started — by the coordinator's
//     clock (JobStatus.RunningSince − Submitted);
//   - submit-ms: the POST /v1/jobs round trip, as the client sees it.
//
// Medians and maxima over the iterations; each sample is logged:
//
//	go test -run '^$' -bench Cluster_startAndSubmit -benchtime 5x ./cmd/node/
func BenchmarkCluster_startAndSubmit(b *testing.B) {
	var converge, start, running, submit []time.Duration
	for range b.N {
		c := startCluster(b, 3, testkit.WithSlots(2))
		converged := time.Now()
		converge = append(converge, converged.Sub(c.Ready(2)))
		start = append(start, converged.Sub(c.Launched(0)))

		via := (c.Coordinator() + 1) % c.Size()
		t0 := time.Now()
		id, err := c.Client(via).Submit(context.Background(), cluster.JobRequest{Pipeline: "generate", Parallelism: 6,
			Params: map[string]string{"rate": "100"}})
		if err != nil {
			b.Fatal(err)
		}
		submit = append(submit, time.Since(t0))
		st := c.WaitJob(id, 30*time.Second, "running", func(st cluster.JobStatus) bool { return !st.RunningSince.IsZero() })
		if nodes := testkit.NodesOf(st); len(nodes) != 3 {
			b.Fatalf("job on nodes %v, want all three", nodes)
		}
		running = append(running, st.RunningSince.Sub(st.Submitted))
		b.Logf("converged %v after the third node was ready, %v after the first launch; job submitted in %v, running %v after its submission",
			ms(converge[len(converge)-1]), ms(start[len(start)-1]), ms(submit[len(submit)-1]), ms(running[len(running)-1]))
		if err := c.Client(0).Cancel(context.Background(), id); err != nil {
			b.Fatal(err)
		}
		c.Wait(id, 30*time.Second)
		for i := range c.Size() {
			c.KillNode(i)
		}
	}
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"converge", converge}, {"start", start}, {"running", running}, {"submit", submit}} {
		slices.Sort(m.ds)
		b.ReportMetric(float64(m.ds[len(m.ds)/2])/1e6, m.name+"-ms")
		b.ReportMetric(float64(m.ds[len(m.ds)-1])/1e6, m.name+"-max-ms")
	}
	b.ReportMetric(0, "ns/op") // the iteration's time is process startup, not a measure
}

func ms(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
