package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/testkit"
)

// A slow sink on one node backpressures the source on another: wordcount
// at parallelism 2 on two nodes of one slot each (slot 0 — a source and
// a sink — on n1, slot 1 on n2), its sink on n2 slowed by the test hook.
// The source on n1 sends half its words across to n2's sink, whose
// credits run out: what n1 has in flight to n2 stays at its channel's
// credits (nothing beyond them can be in Proto.Actor's send queue), n1
// reads a small part of its input, and neither node's resident memory
// grows while the sink crawls. The samples are logged (docs/benchmarks.md
// reports them; TROUPE_TEST_SAMPLING=20s samples longer).
func TestCluster_slowSinkBackpressuresRemoteSource(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("samples resident memory from Linux's /proc")
	}
	sampling := samplingTime(t)
	c := startCluster(t, 2, testkit.WithSlots(1),
		testkit.WithNodeEnv(slowEnv+"=operator=sink,delay=50us,node=n2"))
	// 3.6 M words (14 MB) per 2.5 s of sampling: far more than the run
	// consumes.
	input := crashInput(t, 600_000*int(max(1, sampling/(2500*time.Millisecond))))
	info, err := os.Stat(input)
	if err != nil {
		t.Fatal(err)
	}
	id := c.Submit(1, cluster.JobRequest{Pipeline: "wordcount", Parallelism: 2,
		Params: map[string]string{"input": input, "output": t.TempDir(), "rate": "0"}})
	c.WaitJob(id, 30*time.Second, "running on both nodes", func(st cluster.JobStatus) bool {
		return st.State == cluster.StateRunning && len(testkit.NodesOf(st)) == 2
	})
	// Backpressure has reached n1 once its remote channel has used every
	// credit.
	credits := int64(actors.DefaultCredits)
	waitNode(t, c, 0, "the remote channel's credits all in flight", func(st cluster.NodeStatus) bool {
		return st.Remote.Channels == 1 && st.Remote.MaxInFlight == credits
	})

	var samples [2]memSamples
	var first, last [2]cluster.NodeStatus
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for start := time.Now(); time.Since(start) < sampling; <-tick.C {
		for i := range 2 {
			st := c.NodeStatus(i)
			rss, err := c.RSS(i)
			if err != nil {
				t.Fatal(err)
			}
			samples[i].add(rss, st.Remote.InFlight)
			if first[i].Name == "" {
				first[i] = st
			}
			last[i] = st
		}
	}
	for i := range 2 {
		s, r := samples[i], last[i].Remote
		t.Logf("%s: RSS every 0.5 s (MiB): %s", c.Name(i), s.series(5))
		t.Logf("%s: RSS %s → %s (min %s, max %s); remote in flight at most %d logical batches (%d sampled), %d KiB, bound %d (%d channels × %d credits); sent %d batches, %d KiB; heap %d MiB",
			c.Name(i), mib(s.rss[0]), mib(s.rss[len(s.rss)-1]), mib(s.minRSS()), mib(s.maxRSS()), r.MaxInFlight, s.maxInFlight,
			r.MaxInFlightBytes>>10, r.CreditBound, r.Channels, credits, r.Batches, r.Bytes>>10, last[i].Memory.HeapBytes>>20)
		if r.MaxInFlight > r.CreditBound || r.CreditBound != r.Channels*credits || r.Channels != 1 {
			t.Errorf("%s: %d logical batches in flight on %d remote channels of %d credits each: above the credits' bound",
				c.Name(i), r.MaxInFlight, r.Channels, credits)
		}
		// Without backpressure both would grow by the input's words in
		// flight, tens of MiB a second; a node's heap settles well below
		// these bounds.
		if s.maxRSS() > 256<<20 || s.rss[len(s.rss)-1]-s.rss[0] > 32<<20 {
			t.Errorf("%s: resident memory %s → %s (max %s) while the sink crawled: growing", c.Name(i),
				mib(s.rss[0]), mib(s.rss[len(s.rss)-1]), mib(s.maxRSS()))
		}
	}
	// The source on n1 was held back: it sent a small part of the input's
	// bytes, however fast it can read.
	if sent := last[0].Remote.Bytes; sent > info.Size()/10 || sent <= first[0].Remote.Bytes {
		t.Errorf("n1 sent %d record bytes of a %d-byte input (%d when sampling began): want progress, held back by n2's sink",
			sent, info.Size(), first[0].Remote.Bytes)
	}

	if err := c.Client(0).Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if st := c.Wait(id, 30*time.Second); st.State != cluster.StateCancelled {
		t.Fatalf("job ended %s", st.State)
	}
	for i := range 2 {
		waitNode(t, c, i, "nothing in flight once the job ended", func(st cluster.NodeStatus) bool {
			r := st.Remote
			return len(st.Jobs) == 0 && r.Channels == 0 && r.CreditBound == 0 && r.InFlight == 0 && r.InFlightBytes == 0
		})
	}
}

// memSamples are a node's resident memory and remote batches in flight
// over a run.
type memSamples struct {
	rss         []int64
	maxInFlight int64
}

func (s *memSamples) add(rss, inFlight int64) {
	s.rss = append(s.rss, rss)
	s.maxInFlight = max(s.maxInFlight, inFlight)
}

// series lists every k-th RSS sample, in MiB.
func (s *memSamples) series(k int) string {
	var b strings.Builder
	for j := 0; j < len(s.rss); j += k {
		fmt.Fprintf(&b, "%.0f ", float64(s.rss[j])/(1<<20))
	}
	return strings.TrimSpace(b.String())
}

func (s *memSamples) minRSS() int64 { return slices.Min(s.rss) }
func (s *memSamples) maxRSS() int64 { return slices.Max(s.rss) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// samplingTime is how long the backpressure test samples the nodes:
// 2.5 s, or TROUPE_TEST_SAMPLING (a Go duration) for a longer look.
func samplingTime(t *testing.T) time.Duration {
	v := os.Getenv("TROUPE_TEST_SAMPLING")
	if v == "" {
		return 2500 * time.Millisecond
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("TROUPE_TEST_SAMPLING=%q: want a positive Go duration", v)
	}
	return d
}

// waitNode polls node i's status until cond holds.
func waitNode(t *testing.T, c *testkit.Cluster, i int, what string, cond func(cluster.NodeStatus) bool) {
	t.Helper()
	var st cluster.NodeStatus
	deadline := time.Now().Add(testkit.Dilated(20 * time.Second))
	for {
		if st = c.NodeStatus(i); cond(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not %s within %v: %+v", c.Name(i), what, testkit.Dilated(20*time.Second), st)
		}
		time.Sleep(20 * time.Millisecond) // polling another process
	}
}
