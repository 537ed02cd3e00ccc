package actors

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/operators"
)

// actorBenchRecords is the workload of BenchmarkActorOperator.
const actorBenchRecords = 2_000_000

// BenchmarkActorOperator measures what an actor operator costs per
// record against a built-in operator with the same logic, each in a
// subtask of its own behind its input channel, parallelism 1, at the
// default batch size (1024) and at 64:
//
//   - process / actor: v*3+1 per record (Process; FromActor);
//   - keyed-process / keyed-process-rich / keyed-actor: a running sum per
//     key in a ValueState over 1000 keys (ProcessKeyed, getting the state
//     by name per record as the user guide's functions do; ProcessKeyedRich,
//     getting it once in Open; FromKeyedActor, getting it once in Open).
//
// It reports ns/rec over the whole job (source, channel, operator and a
// counting sink) and cpu-ns/rec, the process's CPU time (user and
// system) per record, which a loaded machine disturbs less than wall
// time; docs/benchmarks.md has the ratios.
func BenchmarkActorOperator(b *testing.B) {
	for _, batch := range []int{1024, 64} {
		for _, kind := range []string{"process", "actor", "keyed-process", "keyed-process-rich", "keyed-actor"} {
			b.Run(fmt.Sprintf("batch%d/%s", batch, kind), func(b *testing.B) { benchActorOp(b, kind, batch) })
		}
	}
}

func benchActorOp(b *testing.B, kind string, batch int) {
	cfg := DefaultConfig()
	cfg.Logger = QuietLogger()
	cfg.BatchSize = batch
	e, err := NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var outputs int64
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	for range b.N {
		p := operators.NewPipeline("bench-" + kind)
		src := operators.Generate(p, actorBenchRecords, func(i int64) benchRec { return benchRec{Key: i % 1000, Value: i} })
		out := actorBenchOperator(kind, src)
		operators.ToSink(out, "count", func(*operators.TaskContext) (operators.SinkWriter[benchRec], error) {
			return countSink{&outputs}, nil
		})
		if err := submit(b, e, p).Wait(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	elapsed, used := time.Since(start), cpuTime()-cpu
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*actorBenchRecords), "ns/rec")
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N*actorBenchRecords), "cpu-ns/rec")
	if outputs != int64(b.N)*actorBenchRecords {
		b.Fatalf("sink saw %d records, want %d", outputs, int64(b.N)*actorBenchRecords)
	}
}

// benchSum is the keyed benchmarks' state: the key's running sum.
var benchSum = operators.ValueDescriptor[int64]{Name: "sum"}

func actorBenchOperator(kind string, src operators.Stream[benchRec]) operators.Stream[benchRec] {
	ks := operators.KeyBy(src, func(r benchRec) int64 { return r.Key })
	switch kind {
	case "process":
		return operators.Process(src.Rebalance(), func(_ *operators.ProcessContext, r benchRec, out operators.Collector[benchRec]) error {
			out.Collect(benchRec{Key: r.Key, Value: r.Value*3 + 1}, operators.NoTimestamp)
			return nil
		})
	case "actor":
		return FromActor[benchRec, benchRec](src.Rebalance(), actor.PropsFromProducer(func() actor.Actor { return benchMapActor{} }))
	case "keyed-process":
		return operators.ProcessKeyed(ks, func(ctx *operators.KeyedContext[int64], r benchRec, out operators.Collector[benchRec]) error {
			st, err := operators.GetValueState(ctx, benchSum)
			if err != nil {
				return err
			}
			s, _ := st.Value()
			st.Update(s + r.Value)
			out.Collect(benchRec{Key: r.Key, Value: s + r.Value}, operators.NoTimestamp)
			return nil
		})
	case "keyed-process-rich":
		return operators.ProcessKeyedRich(ks, func() *benchSumFunc { return &benchSumFunc{} })
	}
	return FromKeyedActor[benchRec, int64, benchRec](ks, actor.PropsFromProducer(func() actor.Actor { return &benchSumActor{} }))
}

// benchMapActor is the actor of the "actor" benchmark.
type benchMapActor struct{}

func (benchMapActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Input[benchRec]:
		out := make([]operators.Element[benchRec], len(m.Records))
		for i, r := range m.Records {
			out[i] = operators.Element[benchRec]{Value: benchRec{Key: r.Value.Key, Value: r.Value.Value*3 + 1}, Timestamp: operators.NoTimestamp}
		}
		ctx.Respond(&Output[benchRec]{Records: out})
	case *EndOfInput:
		ctx.Respond(&Output[benchRec]{})
	}
}

// benchSumActor is the actor of the "keyed-actor" benchmark.
type benchSumActor struct{ sum operators.ValueState[int64] }

func (a *benchSumActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Open[int64]:
		var err error
		if a.sum, err = operators.GetValueState(m.State, benchSum); err != nil {
			panic(err)
		}
		ctx.Respond(&Output[benchRec]{})
	case *KeyedInput[benchRec, int64]:
		out := make([]operators.Element[benchRec], 0, m.Len())
		for r := range m.All() {
			s, _ := a.sum.Value()
			a.sum.Update(s + r.Value.Value)
			out = append(out, operators.Element[benchRec]{Value: benchRec{Key: r.Key, Value: s + r.Value.Value}, Timestamp: operators.NoTimestamp})
		}
		ctx.Respond(&Output[benchRec]{Records: out})
	case *EndOfInput:
		ctx.Respond(&Output[benchRec]{})
	}
}

// benchSumFunc is the function of the "keyed-process-rich" benchmark.
type benchSumFunc struct{ sum operators.ValueState[int64] }

func (f *benchSumFunc) Open(ctx *operators.KeyedRuntimeContext[int64]) (err error) {
	f.sum, err = operators.GetValueState(ctx, benchSum)
	return err
}

func (f *benchSumFunc) ProcessElement(_ *operators.KeyedContext[int64], r benchRec, out operators.Collector[benchRec]) error {
	s, _ := f.sum.Value()
	f.sum.Update(s + r.Value)
	out.Collect(benchRec{Key: r.Key, Value: s + r.Value}, operators.NoTimestamp)
	return nil
}
