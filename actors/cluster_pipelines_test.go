package actors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// The pipelines of the cluster tests, registered by name: every test
// process builds them alike, the coordinating test and its child nodes
// (they run the same test binary). Their output goes to files in a
// directory every process shares, or to counters that a node reports.

func clusterRegistry() *Registry {
	r := NewRegistry()
	r.MustRegister(keyedCountSpec())
	r.MustRegister(bigRecordsSpec())
	r.MustRegister(slowSinkSpec())
	r.MustRegister(poisonSpec())
	r.MustRegister(benchKeyBySpec())
	return r
}

// countedSeq is an output line of keyed-count: the Count-th record of key
// Key was record Seq.
type countedSeq struct {
	Key   int64 `json:"k"`
	Count int64 `json:"c"`
	Seq   int64 `json:"s"`
}

// keyed-count: records 0..n-1 from a source whose subtask i makes i, i+p,
// …; keyed by seq % keys; each key counted; the counts written, exactly
// once with checkpoints, to part files in out. fail-at: the source fails
// at that record in the first attempt, once a checkpoint has completed.
// counter=actor counts with a keyed actor (FromKeyedActor) in place of
// ProcessKeyed: every node builds the actor operator from the registry.
// work: spin iterations per record in the counter, to make it the
// bottleneck (backpressure across the network).
func keyedCountSpec() PipelineSpec {
	return PipelineSpec{
		Name: "keyed-count",
		Params: []Param{{Name: "n", Default: "10000"}, {Name: "keys", Default: "61"},
			{Name: "out", Required: true}, {Name: "fail-at", Default: "-1"}, {Name: "rate", Default: "0"},
			{Name: "counter", Default: "process"}, {Name: "work", Default: "0"}},
		Build: func(ps Params) (*operators.Pipeline, error) {
			n, err1 := ps.Int("n")
			keys, err2 := ps.Int("keys")
			failAt, err3 := ps.Int("fail-at")
			rate, err4 := ps.Float("rate")
			work, err5 := ps.Int("work")
			if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
				return nil, err
			}
			p := operators.NewPipeline("keyed-count").SetParallelism(2)
			var opts []operators.SourceOption
			if rate > 0 {
				opts = append(opts, operators.RateLimit(rate))
			}
			src := operators.FromReader(p, "seq", func(tc *operators.TaskContext) (operators.Reader[int64], error) {
				return &seqReader{tc: tc, n: int64(n), next: int64(tc.Subtask), step: int64(tc.Parallelism), failAt: int64(failAt)}, nil
			}, opts...).Name("source")
			ks := operators.KeyBy(src, func(s int64) int64 { return s % int64(keys) })
			if ps.String("counter") == "actor" {
				counts := FromKeyedActor[int64, int64, countedSeq](ks, actor.PropsFromProducer(func() actor.Actor { return &seqCounter{} })).Name("count")
				operators.WriteFiles(counts, ps.String("out")).Name("sink")
				return p, nil
			}
			counts := operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[int64], s int64, out operators.Collector[countedSeq]) error {
				st, err := operators.GetValueState(ctx, eventCount)
				if err != nil {
					return err
				}
				spin(work)
				c, _ := st.Value()
				st.Update(c + 1)
				out.Collect(countedSeq{Key: ctx.Key(), Count: c + 1, Seq: s}, operators.NoTimestamp)
				return nil
			}).Name("count")
			operators.WriteFiles(counts, ps.String("out")).Name("sink")
			return p, nil
		},
	}
}

// spinSink keeps spin's loop from being optimised away.
var spinSink atomic.Uint64

// spin burns n iterations of CPU (a test's slow operator).
func spin(n int) {
	var x uint64
	for i := range n {
		x = x*31 + uint64(i)
	}
	spinSink.Add(x)
}

// seqCounter is keyed-count's counter as a keyed actor.
type seqCounter struct{ count operators.ValueState[int64] }

func (c *seqCounter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Open[int64]:
		var err error
		if c.count, err = operators.GetValueState(m.State, eventCount); err != nil {
			panic(err)
		}
		ctx.Respond(&Output[countedSeq]{})
	case *KeyedInput[int64, int64]:
		out := make([]operators.Element[countedSeq], 0, m.Len())
		for r := range m.All() {
			n, _ := c.count.Value()
			c.count.Update(n + 1)
			out = append(out, operators.Element[countedSeq]{Value: countedSeq{Key: r.Key, Count: n + 1, Seq: r.Value}, Timestamp: operators.NoTimestamp})
		}
		ctx.Respond(&Output[countedSeq]{Records: out})
	case *EndOfInput:
		ctx.Respond(&Output[countedSeq]{})
	}
}

// seqReader emits n's share of one source subtask; its position is its
// state. With failAt ≥ 0 it fails at that record in the first attempt,
// after waiting there until a checkpoint has completed, so that the
// restart restores a checkpoint.
type seqReader struct {
	tc        *operators.TaskContext
	n, next   int64
	step      int64
	failAt    int64
	completed bool
}

func (r *seqReader) Poll(out operators.Collector[int64], max int) (operators.Poll, error) {
	for range max {
		if r.next >= r.n {
			return operators.Poll{Status: operators.PollDone}, nil
		}
		if r.next == r.failAt && r.tc.Attempt == 1 {
			if !r.completed {
				return operators.Poll{Status: operators.PollWait, Until: time.Now().Add(time.Millisecond)}, nil
			}
			return operators.Poll{}, fmt.Errorf("injected failure at record %d", r.next)
		}
		out.Collect(r.next, operators.NoTimestamp)
		r.next += r.step
	}
	return operators.Poll{Status: operators.PollMore}, nil
}

func (r *seqReader) Close() error { return nil }

func (r *seqReader) NotifyCheckpointComplete(int64) error {
	r.completed = true
	return nil
}

func (r *seqReader) SnapshotState(int64) (*operators.OperatorState, error) {
	b, err := json.Marshal(r.next)
	return &operators.OperatorState{Operator: &persistence.OperatorSnapshot{Lists: map[string][][]byte{"next": {b}}}}, err
}

func (r *seqReader) RestoreState(parts []*operators.OperatorState) error {
	for _, p := range parts {
		if p.Operator != nil {
			for _, b := range p.Operator.Lists["next"] {
				return json.Unmarshal(b, &r.next)
			}
		}
	}
	return nil
}

// bigRecord is a record of big-records: Data is size bytes that its Seq
// determines.
type bigRecord struct {
	Seq  int64
	Data string
}

func bigData(seq int64, size int) string {
	var b strings.Builder
	for b.Len() < size {
		fmt.Fprintf(&b, "%d:", seq)
	}
	return b.String()[:size]
}

// checkedRecord is an output line of big-records.
type checkedRecord struct {
	Seq int64 `json:"s"`
	Len int   `json:"l"`
	OK  bool  `json:"ok"`
}

// big-records: n records of size bytes each, rebalanced to a checker
// that compares every record with what it must be.
func bigRecordsSpec() PipelineSpec {
	return PipelineSpec{
		Name:   "big-records",
		Params: []Param{{Name: "n", Default: "40"}, {Name: "size", Default: "100000"}, {Name: "out", Required: true}},
		Build: func(ps Params) (*operators.Pipeline, error) {
			n, err1 := ps.Int("n")
			size, err2 := ps.Int("size")
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			p := operators.NewPipeline("big-records").SetParallelism(2)
			src := operators.Generate(p, int64(n), func(i int64) bigRecord { return bigRecord{Seq: i, Data: bigData(i, size)} }).Name("source")
			checked := operators.Map(src.Rebalance(), func(r bigRecord) checkedRecord {
				return checkedRecord{Seq: r.Seq, Len: len(r.Data), OK: r.Data == bigData(r.Seq, size)}
			}).Name("check")
			operators.WriteFiles(checked, ps.String("out")).Name("sink")
			return p, nil
		},
	}
}

// counters are this process's named counters, which a test node reports
// (probe); a run's tag keeps runs apart.
var counters sync.Map // string → *atomic.Int64

// uniqueTag names the counters of one run of a test in this process
// (tests may run more than once: -count).
func uniqueTag(t testing.TB) string { return fmt.Sprintf("%s-%d", t.Name(), tagSeq.Add(1)) }

var tagSeq atomic.Int64

func counter(name string) *atomic.Int64 {
	c, _ := counters.LoadOrStore(name, new(atomic.Int64))
	return c.(*atomic.Int64)
}

func counterValues() map[string]int64 {
	out := map[string]int64{}
	counters.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// slow-sink: an endless source (parallelism 1) counted as it emits
// ("<tag>/emitted"), rebalanced to a sink of parallelism 2 that takes
// delay per record, counting per subtask ("<tag>/sunk-<i>").
func slowSinkSpec() PipelineSpec {
	return PipelineSpec{
		Name:   "slow-sink",
		Params: []Param{{Name: "tag", Required: true}, {Name: "delay", Default: "100us"}},
		Build: func(ps Params) (*operators.Pipeline, error) {
			delay, err := ps.Duration("delay")
			if err != nil {
				return nil, err
			}
			tag := ps.String("tag")
			p := operators.NewPipeline("slow-sink")
			src := operators.Generate(p, -1, func(i int64) int64 { return i }).Name("source").Parallelism(1)
			emitted := operators.Map(src, func(i int64) int64 { counter(tag + "/emitted").Add(1); return i }).Name("emitted").Parallelism(1)
			operators.ToSink(emitted.Rebalance(), "slow", func(tc *operators.TaskContext) (operators.SinkWriter[int64], error) {
				return &slowWriter{delay: delay, n: counter(fmt.Sprintf("%s/sunk-%d", tag, tc.Subtask))}, nil
			}).Name("sink").Parallelism(2)
			return p, nil
		},
	}
}

// slowWriter is a sink that takes its time over every record (it holds
// its subtask's goroutine, as a slow external system would).
type slowWriter struct {
	delay time.Duration
	n     *atomic.Int64
}

func (w *slowWriter) Write(int64, int64) error {
	time.Sleep(w.delay) // the workload of the test, not a wait for an event
	w.n.Add(1)
	return nil
}

func (w *slowWriter) Close() error { return nil }

// poisonCodec encodes strings as themselves and refuses to decode
// "poison".
type poisonCodec struct{}

func (poisonCodec) Append(dst []byte, v string) ([]byte, error) { return append(dst, v...), nil }
func (poisonCodec) Decode(b []byte) (string, error) {
	if string(b) == "poison" {
		return "", errors.New("poisoned record")
	}
	return string(b), nil
}

// poison: n strings, the one at poison-at "poison", which its stream's
// codec cannot decode, rebalanced to a sink that discards them.
func poisonSpec() PipelineSpec {
	return PipelineSpec{
		Name:   "poison",
		Params: []Param{{Name: "n", Default: "1000"}, {Name: "poison-at", Default: "500"}},
		Build: func(ps Params) (*operators.Pipeline, error) {
			n, err1 := ps.Int("n")
			at, err2 := ps.Int("poison-at")
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			p := operators.NewPipeline("poison").SetParallelism(2)
			src := operators.Generate(p, int64(n), func(i int64) string {
				if i == int64(at) {
					return "poison"
				}
				return fmt.Sprint(i)
			}).Name("source")
			operators.Discard(operators.WithCodec(src, operators.Codec[string](poisonCodec{})).Rebalance()).Name("sink")
			return p, nil
		},
	}
}

// readCounted reads keyed-count's committed output in dir.
func readCounted(t testing.TB, dir string) []countedSeq {
	t.Helper()
	parts, err := operators.CommittedParts(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []countedSeq
	for _, part := range parts {
		f, err := os.Open(part)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var c countedSeq
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("%s: %q: %v", part, sc.Text(), err)
			}
			out = append(out, c)
		}
		f.Close()
	}
	return out
}

// checkCounted checks keyed-count's output for records 0..n-1 over keys
// keys: every record exactly once, and each key's counts 1..its number
// of records, each once. It returns the final count per key.
func checkCounted(t testing.TB, got []countedSeq, n, keys int64) map[int64]int64 {
	t.Helper()
	seen := make(map[int64]int, n)
	counts := map[int64]map[int64]bool{}
	final := map[int64]int64{}
	for _, c := range got {
		if seen[c.Seq]++; seen[c.Seq] > 1 {
			t.Fatalf("record %d committed twice", c.Seq)
		}
		if c.Key != c.Seq%keys {
			t.Fatalf("record %d counted under key %d", c.Seq, c.Key)
		}
		if counts[c.Key] == nil {
			counts[c.Key] = map[int64]bool{}
		}
		if counts[c.Key][c.Count] {
			t.Fatalf("key %d count %d committed twice", c.Key, c.Count)
		}
		counts[c.Key][c.Count] = true
		final[c.Key] = max(final[c.Key], c.Count)
	}
	if int64(len(seen)) != n {
		t.Fatalf("%d distinct records committed, want %d", len(seen), n)
	}
	for k, f := range final {
		if int64(len(counts[k])) != f {
			t.Fatalf("key %d: counts up to %d but %d of them", k, f, len(counts[k]))
		}
	}
	return final
}

// benchRecord is a record of bench-keyby: 16 bytes of numbers and Pad.
type benchRecord struct {
	K, V int64
	Pad  string
}

// benchRecordOf makes record i of size bytes, its pad a string of its
// own (its number, then filler), as a real source makes distinct records.
func benchRecordOf(size int) func(int64) benchRecord {
	fill := max(size-16, 0)
	filler := strings.Repeat("x", fill)
	return func(i int64) benchRecord {
		r := benchRecord{K: i % 1024, V: i}
		if fill > 0 {
			var num [20]byte
			digits := strconv.AppendInt(num[:0], i, 10)
			var b strings.Builder
			b.Grow(fill)
			b.Write(digits[:min(len(digits), fill)])
			b.WriteString(filler[:fill-min(len(digits), fill)])
			r.Pad = b.String()
		}
		return r
	}
}

// benchCodec encodes a benchRecord as 16 bytes and its pad.
type benchCodec struct{}

func (benchCodec) Append(dst []byte, r benchRecord) ([]byte, error) {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.K))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.V))
	return append(dst, r.Pad...), nil
}

func (benchCodec) Decode(b []byte) (benchRecord, error) {
	if len(b) < 16 {
		return benchRecord{}, errors.New("short record")
	}
	return benchRecord{K: int64(binary.LittleEndian.Uint64(b)), V: int64(binary.LittleEndian.Uint64(b[8:])), Pad: string(b[16:])}, nil
}

// bench-keyby: n records of size bytes (16 and up) from a source of
// parallelism 2, keyed over 1024 keys to a counter of parallelism 2
// ("<tag>/sunk"); codec "binary" (16 bytes + pad) or "json".
func benchKeyBySpec() PipelineSpec {
	return PipelineSpec{
		Name: "bench-keyby",
		Params: []Param{{Name: "n", Default: "1000000"}, {Name: "size", Default: "16"},
			{Name: "codec", Default: "binary"}, {Name: "tag", Required: true}},
		Build: func(ps Params) (*operators.Pipeline, error) {
			n, err1 := ps.Int("n")
			size, err2 := ps.Int("size")
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			sunk := counter(ps.String("tag") + "/sunk")
			p := operators.NewPipeline("bench-keyby").SetParallelism(2)
			src := operators.Generate(p, int64(n), benchRecordOf(size)).Name("source")
			switch ps.String("codec") {
			case "binary":
				src = operators.WithCodec(src, operators.Codec[benchRecord](benchCodec{}))
			case "json":
			default:
				return nil, fmt.Errorf("%w: codec %q", ErrBadParam, ps.String("codec"))
			}
			ks := operators.KeyBy(src, func(r benchRecord) int64 { return r.K })
			counted := operators.ProcessKeyed(ks, func(_ *operators.KeyedContext[int64], _ benchRecord, _ operators.Collector[int64]) error {
				sunk.Add(1)
				return nil
			}).Name("count")
			operators.Discard(counted).Name("sink")
			return p, nil
		},
	}
}

// readChecked reads big-records' committed output in dir.
func readChecked(t testing.TB, dir string) []checkedRecord {
	t.Helper()
	parts, err := operators.CommittedParts(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []checkedRecord
	for _, part := range parts {
		b, err := os.ReadFile(part)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var r checkedRecord
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: %q: %v", part, line, err)
			}
			out = append(out, r)
		}
	}
	return out
}
