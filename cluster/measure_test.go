package cluster

import (
	"fmt"
	"testing"
	"time"
)

// The benchmarks measure how fast membership converges and detects
// failures; they are measurements, not assertions (docs in doc.go):
//
//	go test ./cluster/ -run '^$' -bench . -benchtime 5x
//
// Each iteration starts a fresh cluster of three nodes on loopback.

// BenchmarkConverge measures the time from the first New until all three
// nodes list all three members: "sequential" starts them one after the
// other, joining the first; "simultaneous" starts them at once, each with
// the same seed list of all three addresses, so that most seeds are not
// listening yet when first contacted; "chained" starts them at once, n2
// joining n1 and n3 joining n2 (different seeds: what the same seed list
// avoids).
func BenchmarkConverge(b *testing.B) {
	for _, prof := range profiles {
		for _, st := range []struct {
			name  string
			start func(b *testing.B, timing Timing, addrs []string) []*testNode
		}{
			{"sequential", func(b *testing.B, timing Timing, _ []string) []*testNode { return startOneByOne(b, timing) }},
			{"simultaneous", func(b *testing.B, timing Timing, addrs []string) []*testNode {
				return startAtOnce(b, timing, addrs, func(int) []string { return addrs })
			}},
			{"chained", func(b *testing.B, timing Timing, addrs []string) []*testNode {
				return startAtOnce(b, timing, addrs, func(i int) []string { return addrs[max(i-1, 0):i] })
			}},
		} {
			b.Run(st.name+"/"+prof.name, func(b *testing.B) {
				t := timings{unit: "converge"}
				defer t.report(b)
				for range b.N {
					addrs := freeAddrs(b, 3)
					start := time.Now()
					nodes := st.start(b, prof.timing, addrs)
					waitMembersWithin(b, 30*time.Second, nodes, "n1", "n2", "n3")
					t.add(time.Since(start))
					closeAll(b, nodes)
				}
			})
		}
	}
}

// profiles are the timing profiles measured.
var profiles = []struct {
	name   string
	timing Timing
}{{"local", LocalTiming()}, {"lan", LANTiming()}}

// startOneByOne starts n1, n2 and n3 in turn, n2 and n3 joining n1; the
// caller closes them.
func startOneByOne(b *testing.B, timing Timing) []*testNode {
	b.Helper()
	nodes := benchNodes(b, timing, "n1")
	seed := []string{nodes[0].Addr()}
	nodes = append(nodes, benchNodes(b, timing, "n2", seed...)...)
	return append(nodes, benchNodes(b, timing, "n3", seed...)...)
}

// startAtOnce starts nodes n1..nk bound to addrs, each in its own
// goroutine, node i joining seeds(i); the caller closes them.
func startAtOnce(b *testing.B, timing Timing, addrs []string, seeds func(i int) []string) []*testNode {
	b.Helper()
	type started struct {
		n   *testNode
		err error
	}
	done := make(chan started, len(addrs))
	for i, addr := range addrs {
		go func() {
			n, err := newBenchNode(timing, fmt.Sprintf("n%d", i+1), addr, seeds(i))
			done <- started{n, err}
		}()
	}
	var nodes []*testNode
	for range addrs {
		s := <-done
		if s.err != nil {
			b.Fatal(s.err)
		}
		nodes = append(nodes, s.n)
	}
	return nodes
}

// BenchmarkDetect measures, in a converged cluster of three, the time
// from Close (a crash, as far as the others can tell) or Leave of one node
// until both others have received its EventDead or EventLeave.
func BenchmarkDetect(b *testing.B) {
	for _, prof := range profiles {
		for _, leave := range []bool{false, true} {
			what, typ := "dead", EventDead
			if leave {
				what, typ = "leave", EventLeave
			}
			b.Run(what+"/"+prof.name, func(b *testing.B) {
				t := timings{unit: what}
				defer t.report(b)
				for range b.N {
					nodes := startOneByOne(b, prof.timing)
					waitMembers(b, nodes, "n1", "n2", "n3")
					start := time.Now()
					if leave {
						if err := nodes[2].Leave(broadcastTimeout); err != nil {
							b.Fatal(err)
						}
					}
					if err := nodes[2].Close(); err != nil {
						b.Fatal(err)
					}
					var last time.Duration
					for _, n := range nodes[:2] {
						n.rec.waitFor(b, 30*time.Second, what+" of n3", is(typ, "n3"))
						at, _ := n.rec.when(is(typ, "n3"))
						last = max(last, at.Sub(start))
					}
					t.add(last)
					closeAll(b, nodes[:2])
				}
			})
		}
	}
}

// benchNodes starts one node with the given timing, as a list to append;
// the caller closes it.
func benchNodes(b *testing.B, timing Timing, name string, seeds ...string) []*testNode {
	b.Helper()
	n, err := newBenchNode(timing, name, "127.0.0.1:0", seeds)
	if err != nil {
		b.Fatal(err)
	}
	return []*testNode{n}
}

// newBenchNode starts one node bound to bind; safe from any goroutine.
func newBenchNode(timing Timing, name, bind string, seeds []string) (*testNode, error) {
	cfg := LocalConfig()
	cfg.Name, cfg.Bind, cfg.Join, cfg.Timing, cfg.Logger = name, bind, seeds, timing, testLogger()
	m, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &testNode{Membership: m, rec: record(m)}, nil
}

// freeAddrs returns k loopback addresses that were free a moment ago:
// bound by a node, then released.
func freeAddrs(b *testing.B, k int) []string {
	var out []string
	for i := range k {
		n := benchNodes(b, LocalTiming(), fmt.Sprintf("probe%d", i))[0]
		out = append(out, n.Addr())
		closeAll(b, []*testNode{n})
	}
	return out
}

// timings collects one duration per iteration and reports their mean and
// maximum, in milliseconds, as unit/mean and unit/max.
type timings struct {
	unit string
	all  []time.Duration
}

func (t *timings) add(d time.Duration) { t.all = append(t.all, d) }

func (t *timings) report(b *testing.B) {
	if len(t.all) == 0 {
		return // the benchmark failed
	}
	var sum, most time.Duration
	for _, d := range t.all {
		sum, most = sum+d, max(most, d)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(sum/time.Duration(len(t.all))), "ms-mean/"+t.unit)
	b.ReportMetric(ms(most), "ms-max/"+t.unit)
	b.ReportMetric(0, "ns/op") // the loop time includes setup: meaningless
}

func closeAll(b *testing.B, nodes []*testNode) {
	b.Helper()
	for _, n := range nodes {
		if err := n.Close(); err != nil {
			b.Error(err)
		}
		n.rec.wait()
	}
}
