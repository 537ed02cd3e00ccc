package jetstream

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/testkit"
)

// count is the output of the keyed count: a key's running count.
type count struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// countState is a key's running count.
var countState = operators.ValueDescriptor[int]{Name: "count"}

func countByKey(ctx *operators.KeyedContext[string], e event, out operators.Collector[count]) error {
	st, err := operators.GetValueState(ctx, countState)
	if err != nil {
		return err
	}
	n, _ := st.Value()
	n++
	st.Update(n)
	out.Collect(count{Key: ctx.Key(), Count: n}, ctx.Timestamp())
	return nil
}

// countPipeline is JetStream → keyed count → JetStream: stream IN's
// subjects in.<key> to stream OUT.
func countPipeline(t testing.TB, url string, keys []string, rate float64, sinkCfg SinkConfig[count]) *operators.Pipeline {
	t.Helper()
	p := operators.NewPipeline("js-count").SetParallelism(2)
	subjects := make([]string, len(keys))
	for i, k := range keys {
		subjects[i] = "in." + k
	}
	src, err := FromJetStream(p, SourceConfig[event]{URL: url, Stream: "IN", Subjects: subjects, Bounded: true},
		operators.RateLimit(rate))
	if err != nil {
		t.Fatal(err)
	}
	counts := operators.ProcessKeyed(operators.KeyBy(src.Name("in"), func(e event) string { return e.Key }), countByKey).Name("count")
	sinkCfg.URL, sinkCfg.Stream = url, "OUT"
	sink, err := ToJetStream(counts, sinkCfg)
	if err != nil {
		t.Fatal(err)
	}
	sink.Name("out")
	return p
}

// checkCounts reads stream OUT and checks that it holds every running
// count of every key exactly once.
func checkCounts(t *testing.T, s *jstest.Server, totals map[string]int) testkit.Report {
	t.Helper()
	sent := map[string][]int64{}
	for k, n := range totals {
		sent[k] = testkit.SeqRange(1, int64(n)+1)
	}
	got := decodeAll[count](t, s.ReadAll(t, "OUT"))
	return testkit.AssertExactlyOnce(t, sent, got, func(c count) testkit.RecordID {
		return testkit.RecordID{Source: c.Key, Seq: int64(c.Count)}
	}, testkit.InOrderBy(func(c count) string { return c.Key }))
}

var errCommitFault = errors.New("injected fault during a commit")

// Source → keyed count → sink, both on JetStream, with checkpoints every
// few milliseconds and failures at random points: in the counter at a
// random record, in the source at a random record, at a snapshot of the
// sink, and in the middle of a commit (after some of a transaction's
// messages were published). The output stream holds every running count
// exactly once, and the interrupted commit was repeated and partly
// de-duplicated by the server.
func TestJetStream_exactlyOnceWithFaults(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	keys := []string{"a", "b", "c"}
	totals := map[string]int{"a": 900, "b": 600, "c": 300}
	s := countStreams(t, totals)

	var failedCommit atomic.Bool
	var dedupedCommits atomic.Int64
	failAt := rng.IntN(3) // after the first, second or third message of a transaction: small epochs have that many
	hooks := &sinkHooks{
		published: func(checkpoint int64, i int) error {
			if checkpoint >= 3 && i == failAt && failedCommit.CompareAndSwap(false, true) {
				return errCommitFault
			}
			return nil
		},
		committed: func(_ []int64, _, dups int) {
			if dups > 0 {
				dedupedCommits.Add(1)
			}
		},
	}
	r := testkit.NewRunner(t, testkit.WithCheckpoints(5*time.Millisecond),
		testkit.WithRestart(actors.FixedDelay(10, time.Millisecond)), testkit.WithRunTimeout(60*time.Second))
	r.Faults().FailAt("count", testkit.AtRecord(1+rng.Int64N(700)))
	r.Faults().FailAt("in", testkit.AtRecord(1+rng.Int64N(400)), testkit.InAttempt(1))
	r.Faults().FailAtSnapshot("out", testkit.AtRecord(2+rng.Int64N(10)), testkit.InAttempt(2))
	p := countPipeline(t, s.URL(), keys, 2000, SinkConfig[count]{hooks: hooks})
	res := r.Run(p)
	if res.Err != nil {
		t.Fatal(res)
	}
	fired := len(r.Faults().Fired())
	t.Logf("%v; faults fired: %d and the commit's", res, fired)
	if !failedCommit.Load() {
		t.Error("no commit was interrupted: the job ended before checkpoint 3 committed")
	}
	if dedupedCommits.Load() == 0 {
		t.Error("no repeated commit met duplicates: the interrupted commit was not repeated with the same IDs")
	}
	// A fault bound to an attempt does not fire when another failure
	// ends that attempt first; the counter's, in attempt 0, always does.
	// The injected faults fire in attempts 0, 1 and 2, one each, so each
	// costs a restart. The commit's costs one more unless it came in an
	// attempt already stopping for another fault (seen: the source's
	// fault and the commit of checkpoint 13 in attempt 1 — the commit
	// failed "while the job was stopping"), which restarts once.
	if fired < 1 || res.Restarts < fired || res.Restarts > fired+1 {
		t.Errorf("%d restarts, want one per fault: %d injected, and the commit's unless it came in an attempt already failing", res.Restarts, fired)
	}
	checkCounts(t, s, totals)
}

// countStreams starts a server with stream IN holding totals[k] events
// on in.<k>, and an empty stream OUT.
func countStreams(t *testing.T, totals map[string]int) *jstest.Server {
	t.Helper()
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	s.CreateStream(t, "OUT", "out")
	for k, n := range totals {
		publishEvents(t, s, "in."+k, k, n)
	}
	return s
}

// Without faults, an at-least-once sink under checkpoints and an
// exactly-once sink without checkpoints (which publishes at once, as at
// least once) publish every running count, too.
func TestJetStream_withoutFaults(t *testing.T) {
	totals := map[string]int{"a": 200, "b": 100}
	for name, c := range map[string]struct {
		delivery Delivery
		opts     []testkit.RunnerOption
	}{
		"at least once":                    {AtLeastOnce, []testkit.RunnerOption{testkit.WithCheckpoints(5 * time.Millisecond)}},
		"exactly once without checkpoints": {ExactlyOnce, nil},
	} {
		t.Run(name, func(t *testing.T) {
			s := countStreams(t, totals)
			p := countPipeline(t, s.URL(), []string{"a", "b"}, 0, SinkConfig[count]{Delivery: c.delivery})
			if res := testkit.NewRunner(t, c.opts...).Run(p); res.Err != nil {
				t.Fatal(res)
			}
			checkCounts(t, s, totals)
		})
	}
}

func ExampleEndpoint() {
	ep, err := ParseURL("nats://127.0.0.1:4222/ORDERS?subject=orders.eu&subject=orders.us&bounded=true")
	if err != nil {
		panic(err)
	}
	fmt.Println(ep.Servers, ep.Stream, ep.Subjects, ep.Bounded, ep.Delivery)
	// Output: nats://127.0.0.1:4222 ORDERS [orders.eu orders.us] true exactly-once
}
