package actors

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkCluster_KeyByExchange measures a keyBy exchange (bench-keyby:
// source ×2 → keyBy → count ×2) between two nodes — the test process and
// one child node, one slot each, so that about half the records cross the
// network each way — against the same job in one process, in the same
// run: records/s of each, their ratio, and the record bytes on the wire
// per second. The same per CPU second (of the test process, and of the
// child in the remote run) says what each costs however much of a
// shared machine the run gets: cpu-ratio is the ratio of those rates. Set
// TROUPE_BENCH_CHILD_CPUPROF to a file to profile the child node
// (-cpuprofile profiles the test process).
func BenchmarkCluster_KeyByExchange(b *testing.B) {
	var env []string
	if path := os.Getenv("TROUPE_BENCH_CHILD_CPUPROF"); path != "" {
		env = append(env, cpuProfileEnv+"="+path)
	}
	c := startCluster(b)
	c.nodes["n1"] = startNode(b, "n1", env...)
	cases := []struct {
		name  string
		n     int
		size  int
		codec string
	}{
		{"16B-binary", 2_000_000, 16, "binary"},
		{"200B-binary", 1_000_000, 200, "binary"},
		{"200B-json", 500_000, 200, "json"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var local, remote, localCPU, remoteCPU time.Duration
			var wire int64
			for range b.N {
				cpu := c.cpu(b)
				local += c.runBench(b, tc.n, tc.size, tc.codec, benchTag(b, "local"), nil)
				before, mid := c.wireBytes(b), c.cpu(b)
				remote += c.runBench(b, tc.n, tc.size, tc.codec, benchTag(b, "remote"), c.placer("coord", "n1"))
				wire += c.wireBytes(b) - before
				end := c.cpu(b)
				localCPU, remoteCPU = localCPU+mid-cpu, remoteCPU+end-mid
			}
			records := float64(b.N * tc.n)
			b.ReportMetric(records/local.Seconds(), "local-rec/s")
			b.ReportMetric(records/remote.Seconds(), "remote-rec/s")
			b.ReportMetric(local.Seconds()/remote.Seconds(), "remote/local")
			if localCPU > 0 && remoteCPU > 0 {
				b.ReportMetric(records/localCPU.Seconds(), "local-rec/cpu-s")
				b.ReportMetric(records/remoteCPU.Seconds(), "remote-rec/cpu-s")
				b.ReportMetric(localCPU.Seconds()/remoteCPU.Seconds(), "cpu-ratio")
			}
			b.ReportMetric(float64(wire)/remote.Seconds()/1e6, "wire-MB/s")
			b.ReportMetric(float64(wire)/records, "wire-B/rec")
		})
	}
}

// runBench runs bench-keyby once, placed by p (nil: in the test process),
// and returns how long it took.
func (c *testCluster) runBench(b *testing.B, n, size int, codec, tag string, p Placer) time.Duration {
	b.Helper()
	var opts []SubmitOption
	if p != nil {
		opts = append(opts, WithPlacer(p))
	}
	start := time.Now()
	j, err := c.e.SubmitSpec(clusterRegistry(), JobSpec{Pipeline: "bench-keyby",
		Params: map[string]string{"n": fmt.Sprint(n), "size": fmt.Sprint(size), "codec": codec, "tag": tag}}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	if err := waitEnd(b, j); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	sunk := counter(tag + "/sunk").Load()
	if p != nil {
		sunk += c.nodes["n1"].stats(b).Counters[tag+"/sunk"]
	}
	if sunk != int64(n) {
		b.Fatalf("%d records counted, want %d", sunk, n)
	}
	return d
}

// cpu is the CPU time the test process and the child node have used.
func (c *testCluster) cpu(b *testing.B) time.Duration {
	return processCPU() + c.nodes["n1"].stats(b).CPU
}

// wireBytes is the record bytes both nodes have sent over the network.
func (c *testCluster) wireBytes(b *testing.B) int64 {
	return c.e.stats.bytes.Load() + c.nodes["n1"].stats(b).Remote.Bytes
}

// benchTag names one run's counters.
func benchTag(b *testing.B, what string) string { return uniqueTag(b) + "-" + what }
