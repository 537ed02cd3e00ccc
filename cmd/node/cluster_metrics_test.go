package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/testkit"
)

// A job across three nodes: every subtask's samples reach the job's
// master, whichever node runs the subtask (the job's status shows them
// all), and each node's /metrics exports the subtasks it runs, while the
// job's own metrics come from the node that runs its master. The nodes
// run with --memory: each shows its soft limit and the collector's
// target that a budget brings (GOGC 800) as node start applies them.
func TestCluster_metricsFromEveryNode(t *testing.T) {
	c := testkit.StartCluster(t, 3, testkit.WithSlots(1), testkit.WithNodeArgs("--memory", "256MiB"))
	id := c.Submit(0, cluster.JobRequest{Pipeline: "demo", Parallelism: 3, CheckpointInterval: "500ms",
		Params: map[string]string{"start": strconv.FormatInt(time.Now().UnixMilli(), 10)}})
	st := c.WaitJob(id, 90*time.Second, "sampled on every node, with a checkpoint", func(st cluster.JobStatus) bool {
		if st.State != cluster.StateRunning || len(testkit.NodesOf(st)) != 3 || st.Checkpoints == nil || st.Checkpoints.Completed == 0 {
			return false
		}
		for _, v := range st.Vertices {
			if v.Metrics == nil || v.Metrics.RecordsIn+v.Metrics.RecordsOut == 0 {
				return false
			}
			for _, s := range v.Subtasks {
				if s.Metrics == nil {
					return false
				}
			}
		}
		return true
	})
	if len(st.Edges) != 2 || st.Edges[0].Partitioning != "hash" || st.Edges[1].Partitioning != "rebalance" {
		t.Errorf("edges %+v, want a hash edge and a rebalance", st.Edges)
	}
	for i := range c.Size() {
		m := httpGet(t, "http://"+c.HTTPAddr(i)+"/metrics")
		for _, v := range st.Vertices {
			for _, s := range v.Subtasks {
				series := fmt.Sprintf(`troupe_subtask_records_in_total{job="demo",job_id=%q,operator=%q,subtask="%d"}`, id, v.Name, s.Index)
				if here := s.Node == c.Name(i); strings.Contains(m, series) != here {
					t.Errorf("%s's /metrics has %s: %v, want %v (the subtask runs on %s)", c.Name(i), series, !here, here, s.Node)
				}
			}
		}
		owner := st.Owner == c.Name(i)
		if has := strings.Contains(m, fmt.Sprintf(`troupe_job_status{job="demo",job_id=%q,status="running"} 1`, id)); has != owner {
			t.Errorf("%s's /metrics has the job's status: %v, want %v (the master runs on %s)", c.Name(i), has, owner, st.Owner)
		}
		if !strings.Contains(m, "troupe_node_members 3") || !strings.Contains(m, "troupe_node_slots_used 1") {
			t.Errorf("%s's /metrics lacks 3 members or 1 slot used", c.Name(i))
		}
		if _, env := os.LookupEnv("GOGC"); !env && !strings.Contains(m, "\ngo_gc_gogc_percent 800\n") ||
			!strings.Contains(m, "\ngo_gc_gomemlimit_bytes 2.68435456e+08\n") {
			t.Errorf("%s's /metrics lacks GOGC 800 (the default with --memory) or the 256 MiB soft limit", c.Name(i))
		}
	}
}
