package actors_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// A word count: split lines into words, key by word, keep a running count.
func ExampleEngine_Run() {
	p := operators.NewPipeline("wordcount")
	lines := operators.FromSlice(p, []string{"to be or not to be"})
	words := operators.FlatMap(lines, func(line string, emit func(string)) {
		for _, w := range strings.Fields(line) {
			emit(w)
		}
	})
	counts := operators.ProcessKeyed(operators.KeyBy(words, func(w string) string { return w }),
		func(ctx *operators.KeyedContext[string], w string, out operators.Collector[string]) error {
			state, err := operators.GetValueState(ctx, operators.ValueDescriptor[int]{Name: "count"})
			if err != nil {
				return err
			}
			n, _ := state.Value()
			state.Update(n + 1)
			out.Collect(fmt.Sprintf("%s=%d", w, n+1), ctx.Timestamp())
			return nil
		}).Parallelism(2)
	result := operators.Collect(counts)

	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	engine, err := actors.NewEngine(cfg)
	if err != nil {
		panic(err)
	}
	defer engine.Close()
	if err := engine.Run(context.Background(), p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	out := result.Values()
	sort.Strings(out) // two subtasks: order across them is not defined
	fmt.Println(out)
	// Output: [be=1 be=2 not=1 or=1 to=1 to=2]
}

// upper is a user's actor used as an operator: it answers every Input with
// one Output, and EndOfInput with a final Output.
type upper struct{}

func (upper) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Input[string]:
		out := make([]operators.Element[string], len(m.Records))
		for i, r := range m.Records {
			out[i] = operators.Element[string]{Value: strings.ToUpper(r.Value), Timestamp: r.Timestamp}
		}
		ctx.Respond(&actors.Output[string]{Records: out})
	case *actors.EndOfInput:
		ctx.Respond(&actors.Output[string]{Records: []operators.Element[string]{{Value: "DONE"}}})
	}
}

func ExampleFromActor() {
	p := operators.NewPipeline("custom")
	in := operators.FromSlice(p, []string{"a", "b", "c"})
	shout := actors.FromActor[string, string](in, actor.PropsFromProducer(func() actor.Actor { return upper{} })).Name("upper")
	result := operators.Collect(shout)

	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	engine, _ := actors.NewEngine(cfg)
	defer engine.Close()
	if err := engine.Run(context.Background(), p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(result.Values())
	// Output: [A B C DONE]
}

// wordCounter counts each word in the engine's keyed state and emits the
// counts when the input ends, from an event-time timer set at the end of
// time (the watermark reaches it when the input ends).
type wordCounter struct {
	scope *operators.KeyedScope[string]
	count operators.ValueState[int]
}

func (w *wordCounter) Receive(ctx actor.Context) {
	var out []operators.Element[string]
	switch m := ctx.Message().(type) {
	case *actors.Open[string]:
		w.scope = m.State
		w.count, _ = operators.GetValueState(m.State, operators.ValueDescriptor[int]{Name: "count"})
	case *actors.KeyedInput[string, string]:
		for range m.All() { // the record's word is the current key
			n, _ := w.count.Value()
			w.count.Update(n + 1)
			w.scope.RegisterEventTimer(operators.MaxWatermark)
		}
	case *actors.Timers[string]:
		for t := range m.All() { // the timer's word is the current key
			n, _ := w.count.Value()
			out = append(out, operators.Element[string]{Value: fmt.Sprintf("%s=%d", t.Key, n), Timestamp: operators.NoTimestamp})
		}
	case *actors.EndOfInput:
	default:
		return // Proto.Actor's own messages (Started, …)
	}
	ctx.Respond(&actors.Output[string]{Records: out})
}

func ExampleFromKeyedActor() {
	p := operators.NewPipeline("words")
	words := operators.FromSlice(p, []string{"to", "be", "or", "not", "to", "be"})
	byWord := operators.KeyBy(words, func(w string) string { return w })
	counts := actors.FromKeyedActor[string, string, string](byWord,
		actor.PropsFromProducer(func() actor.Actor { return &wordCounter{} })).Name("count")
	result := operators.Collect(counts)

	cfg := actors.DefaultConfig()
	cfg.Logger = actors.QuietLogger()
	engine, _ := actors.NewEngine(cfg)
	defer engine.Close()
	if err := engine.Run(context.Background(), p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(result.Values())
	// Output: [to=2 be=2 or=1 not=1]
}
