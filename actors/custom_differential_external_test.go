package actors_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
	"github.com/troupe-dev/troupe/watermark"
)

// The differential tests: one keyed event-time logic written twice, as a
// ProcessKeyedWithTimers function and as a keyed actor, fed the same
// random, disordered input with the same watermarks, must give the same
// output, in the same order, events included.
//
// The logic sums each account's amounts per tumbling window of
// spendWindow ms, with an event-time timer at the window's last
// millisecond that emits the sum and clears it; a record whose window
// the watermark has passed is emitted as late. A sum above spendLimit
// sets a second timer 5 ms later, from inside the timer (it may be due
// already, and then fires in the same advance of the watermark).

const (
	spendWindow = 10
	spendLimit  = 50
)

// spend is an input record: an account's amount at a time. A marker
// (Marker set) carries the watermark that follows it, in Time.
type spend struct {
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
	Time    int64  `json:"time"`
	Marker  bool   `json:"marker,omitempty"`
}

// spent is an output: a window's sum ("sum"), a late record ("late"), or
// a follow-up after a sum above the limit ("over").
type spent struct {
	Account string `json:"account"`
	Start   int64  `json:"start"`
	Sum     int64  `json:"sum"`
	Kind    string `json:"kind"`
}

var windowSums = operators.MapDescriptor[int64, int64]{Name: "sums"}

// spendLogic is the logic, on the context either implementation gives.
type spendLogic struct {
	key       string
	watermark int64
	sums      operators.MapState[int64, int64]
	register  func(ts int64)
	emit      func(v spent, ts int64)
}

func (l spendLogic) onRecord(s spend, ts int64) {
	w := ts - ts%spendWindow
	if w+spendWindow-1 <= l.watermark {
		l.emit(spent{Account: l.key, Start: w, Sum: s.Amount, Kind: "late"}, ts)
		return
	}
	sum, _ := l.sums.Get(w)
	l.sums.Put(w, sum+s.Amount)
	l.register(w + spendWindow - 1)
}

func (l spendLogic) onTimer(t int64) {
	if t%spendWindow != spendWindow-1 {
		l.emit(spent{Account: l.key, Start: t - 5 - spendWindow + 1, Kind: "over"}, t)
		return
	}
	w := t - spendWindow + 1
	sum, ok := l.sums.Get(w)
	if !ok {
		return
	}
	l.sums.Remove(w)
	l.emit(spent{Account: l.key, Start: w, Sum: sum, Kind: "sum"}, t)
	if sum > spendLimit {
		l.register(t + 5)
	}
}

// spendProcess is the logic as ProcessKeyedWithTimers.
func spendProcess(ks operators.KeyedStream[spend, string]) operators.Stream[spent] {
	logic := func(ctx *operators.KeyedContext[string], out operators.Collector[spent]) (spendLogic, error) {
		sums, err := operators.GetMapState(ctx, windowSums)
		return spendLogic{key: ctx.Key(), watermark: ctx.CurrentWatermark(), sums: sums,
			register: ctx.RegisterEventTimer, emit: out.Collect}, err
	}
	return operators.ProcessKeyedWithTimers(ks,
		func(ctx *operators.KeyedContext[string], s spend, out operators.Collector[spent]) error {
			l, err := logic(ctx, out)
			if err == nil {
				l.onRecord(s, ctx.Timestamp())
			}
			return err
		},
		func(ctx *operators.KeyedContext[string], tm operators.Timer, out operators.Collector[spent]) error {
			l, err := logic(ctx, out)
			if err == nil {
				l.onTimer(tm.Time)
			}
			return err
		}).Name("spend")
}

// spendActor is the logic as a keyed actor.
type spendActor struct {
	scope *operators.KeyedScope[string]
	sums  operators.MapState[int64, int64]
}

func spendActorProps() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &spendActor{} })
}

func (a *spendActor) Receive(ctx actor.Context) {
	var out []operators.Element[spent]
	logic := func() spendLogic {
		return spendLogic{key: a.scope.Key(), watermark: a.scope.CurrentWatermark(), sums: a.sums,
			register: a.scope.RegisterEventTimer,
			emit: func(v spent, ts int64) {
				out = append(out, operators.Element[spent]{Value: v, Timestamp: ts})
			}}
	}
	switch m := ctx.Message().(type) {
	case *actors.Open[string]:
		a.scope = m.State
		var err error
		if a.sums, err = operators.GetMapState(m.State, windowSums); err != nil {
			panic(err)
		}
	case *actors.KeyedInput[spend, string]:
		for r := range m.All() {
			logic().onRecord(r.Value, r.Timestamp)
		}
	case *actors.Timers[string]:
		for t := range m.All() {
			logic().onTimer(t.Time)
		}
	case *actors.EndOfInput:
	default:
		return
	}
	ctx.Respond(&actors.Output[spent]{Records: out})
}

// spendInput makes n records of accounts accounts whose times go up by
// about one per 4 records with up to 15 ms of disorder, and after every
// 7th a marker with the watermark max time − 8: records up to 7 ms
// behind it are late.
func spendInput(rng *rand.Rand, n, accounts int) []spend {
	var in []spend
	var maxTime int64
	for i := range n {
		s := spend{Account: fmt.Sprintf("acct-%d", rng.IntN(accounts)), Amount: 1 + rng.Int64N(20),
			Time: int64(i/4) + rng.Int64N(16)}
		in = append(in, s)
		maxTime = max(maxTime, s.Time)
		if i%7 == 6 {
			in = append(in, spend{Marker: true, Time: maxTime - 8})
		}
	}
	return in
}

// The harness level: every output and watermark, in order.
func TestKeyedActor_sameAsProcessKeyedWithTimers_harness(t *testing.T) {
	rng := newSeededRand(t)
	in := spendInput(rng, 3000, 6)
	account := func(s spend) string { return s.Account }
	process := testkit.NewKeyedHarness(t, account, spendProcess)
	act := testkit.NewKeyedActorHarness[spend, string, spent](t, account, spendActorProps())
	for _, s := range in {
		if s.Marker {
			process.ProcessWatermark(s.Time)
			act.ProcessWatermark(s.Time)
			continue
		}
		process.ProcessElement(s, s.Time)
		act.ProcessElement(s, s.Time)
	}
	process.EndInput()
	act.EndInput()
	want, got := process.Output(), act.Output()
	checkKinds(t, process.Values())
	if len(got) != len(want) {
		t.Fatalf("the actor emitted %d items, ProcessKeyedWithTimers %d", len(got), len(want))
	}
	for i := range want {
		if got[i].String() != want[i].String() {
			t.Fatalf("item %d: the actor emitted %s, ProcessKeyedWithTimers %s", i, got[i], want[i])
		}
	}
}

// checkKinds makes sure the input exercised every path of the logic.
func checkKinds(t *testing.T, out []spent) {
	t.Helper()
	kinds := map[string]int{}
	for _, s := range out {
		kinds[s.Kind]++
	}
	if kinds["sum"] == 0 || kinds["late"] == 0 || kinds["over"] == 0 {
		t.Fatalf("the input gave %v: want sums, late records and follow-ups", kinds)
	}
}

// The engine level: a job at parallelism 2, the watermarks punctuated by
// markers so that each subtask sees the same sequence in both jobs.
func TestKeyedActor_sameAsProcessKeyedWithTimers_engine(t *testing.T) {
	rng := newSeededRand(t)
	in := spendInput(rng, 6000, 9)
	run := func(name string, op func(operators.KeyedStream[spend, string]) operators.Stream[spent]) [][]operators.Element[spent] {
		r := testkit.NewRunner(t, testkit.WithBatchSize(32))
		p := operators.NewPipeline(name).SetParallelism(2)
		src := operators.FromSlice(p, in).Parallelism(1)
		timed := operators.AssignTimestamps(src, operators.WatermarkStrategy[spend]{
			Strategy:  watermark.ForPunctuated(markerTime),
			Timestamp: func(s spend, _ int64) int64 { return stampOf(s) },
		}).Parallelism(1)
		records := operators.Filter(timed, func(s spend) bool { return !s.Marker }).Parallelism(1)
		out := operators.Collect(op(operators.KeyBy(records, func(s spend) string { return s.Account })))
		if res := r.Run(p); res.State != actors.JobFinished {
			t.Fatalf("%s: %v", name, res)
		}
		return out.BySubtask()
	}
	want := run("spend-process", spendProcess)
	got := run("spend-actor", func(ks operators.KeyedStream[spend, string]) operators.Stream[spent] {
		return actors.FromKeyedActor[spend, string, spent](ks, spendActorProps()).Name("spend")
	})
	for i := range want {
		checkKinds(t, values(want[i]))
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("subtask %d: the actor emitted %d records, ProcessKeyedWithTimers %d; first difference at %s",
				i, len(got[i]), len(want[i]), firstDifference(got[i], want[i]))
		}
	}
}

// markerTime is the punctuated watermark: a marker's stamp carries its
// watermark, negated so that it differs from any record's time.
func markerTime(ts int64) (int64, bool) {
	if ts < 0 {
		return -ts - 1, true
	}
	return 0, false
}

func stampOf(s spend) int64 {
	if s.Marker {
		return -s.Time - 1
	}
	return s.Time
}

func values[T any](es []operators.Element[T]) []T {
	out := make([]T, len(es))
	for i, e := range es {
		out[i] = e.Value
	}
	return out
}

func firstDifference[T comparable](a, b []T) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("%d (%v vs %v)", i, a[i], b[i])
		}
	}
	return fmt.Sprint(min(len(a), len(b)))
}
