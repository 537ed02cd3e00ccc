package testkit

import (
	"fmt"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// Harness runs one subtask of an operator (or of a chain of operators)
// synchronously on the test's goroutine, without an actor system: the test
// feeds records, watermarks and processing time, and reads what the
// operator emitted, in order, events included. It drives the same Chain a
// subtask actor drives, so operators behave as in a job.
//
// Every record emitted is copied through the output stream's codec, and
// the harness fails the test if the operator changes a value after
// emitting it (in a job, the next operator holds that very value).
type Harness[In, Out any] struct {
	base[Out]
	owns func(In) error // keyed harnesses: is the record's key this subtask's?
}

// base is what every harness has, whatever its inputs: the subtask and its
// recorded output.
type base[Out any] struct {
	core
	out *output[Out]
}

// NewHarness builds a harness for the operators that op adds to a stream of
// In; they must chain into one subtask. For example:
//
//	h := testkit.NewHarness(t, func(s operators.Stream[string]) operators.Stream[int] {
//		return operators.Map(s, func(w string) int { return len(w) })
//	})
func NewHarness[In, Out any](t testing.TB, op func(operators.Stream[In]) operators.Stream[Out], opts ...HarnessOption) *Harness[In, Out] {
	t.Helper()
	h := &Harness[In, Out]{base: base[Out]{core: core{t: t, cfg: newHarnessConfig(opts)}}}
	p := harnessPipeline(h.cfg)
	in := harnessInput[In](p, 1)
	h.finish(p, op(in.Rebalance()), 1)
	return h
}

// NewKeyedHarness builds a harness for a keyed operator: op receives the
// input keyed by key. With WithSubtask, only records whose key the subtask
// owns may be fed.
func NewKeyedHarness[In any, K comparable, Out any](t testing.TB, key func(In) K, op func(operators.KeyedStream[In, K]) operators.Stream[Out], opts ...HarnessOption) *Harness[In, Out] {
	t.Helper()
	h := &Harness[In, Out]{base: base[Out]{core: core{t: t, cfg: newHarnessConfig(opts)}}}
	p := harnessPipeline(h.cfg)
	in := harnessInput[In](p, 1)
	h.finish(p, op(operators.KeyBy(in, key)), 1)
	h.owns = func(v In) error { return ownsKey(h.cfg, key(v)) }
	return h
}

func harnessPipeline(cfg harnessConfig) *operators.Pipeline {
	return operators.NewPipeline("harness").SetParallelism(cfg.parallelism).SetMaxParallelism(cfg.maxParallelism)
}

// harnessInput is a placeholder source with parallelism 1, so that the
// subtask under test has one input channel per logical input. It is never
// opened: the harness feeds the channel itself.
func harnessInput[T any](p *operators.Pipeline, n int) operators.Stream[T] {
	return operators.FromSlice[T](p, nil).Name(fmt.Sprintf("harness-input-%d", n)).Parallelism(1)
}

// ownsKey reports, as an error, a key that the runtime would never route
// to the subtask under test.
func ownsKey[K comparable](cfg harnessConfig, k K) error {
	kg := operators.KeyGroup(operators.HashKey(k), cfg.maxParallelism)
	if sub := operators.SubtaskOf(kg, cfg.parallelism, cfg.maxParallelism); sub != cfg.subtask {
		return fmt.Errorf("key %v (key group %d) belongs to subtask %d, not to subtask %d under test", k, kg, sub, cfg.subtask)
	}
	return nil
}

func (h *base[Out]) finish(p *operators.Pipeline, out operators.Stream[Out], inputs int) {
	h.t.Helper()
	h.out = &output[Out]{t: h.t, codec: operators.CodecOf(out), noCheck: h.cfg.noCopyCheck}
	operators.Discard(out.Rebalance()).Name("harness-output").Parallelism(1)
	h.build(p, inputs, h.attachSides(out, h.out))
}

// ProcessElement feeds one record with event timestamp ts
// (operators.NoTimestamp for none).
func (h *Harness[In, Out]) ProcessElement(v In, ts int64) {
	h.t.Helper()
	if h.owns != nil {
		if err := h.owns(v); err != nil {
			h.t.Fatalf("harness: %v", err)
		}
	}
	feed(&h.base, 0, v, ts)
}

// ProcessElements feeds records without timestamps, one after another.
func (h *Harness[In, Out]) ProcessElements(vs ...In) {
	h.t.Helper()
	for _, v := range vs {
		h.ProcessElement(v, operators.NoTimestamp)
	}
}

// ProcessWatermark feeds a watermark on the input.
func (h *Harness[In, Out]) ProcessWatermark(wm int64) {
	h.t.Helper()
	h.run("", func() { h.processWatermark(0, wm) })
}

// SetIdle announces the input idle or active again.
func (h *Harness[In, Out]) SetIdle(idle bool) {
	h.t.Helper()
	h.run("", func() { h.setIdle(0, idle) })
}

// SetProcessingTime moves the subtask's clock to t, which must not be
// before the current one, and fires the processing-time actions due.
func (h *base[Out]) SetProcessingTime(t time.Time) {
	h.t.Helper()
	h.run("", func() { h.advanceTo(t) })
}

// AdvanceProcessingTime moves the subtask's clock forward by d.
func (h *base[Out]) AdvanceProcessingTime(d time.Duration) {
	h.t.Helper()
	h.SetProcessingTime(h.clock.Now().Add(d))
}

// ProcessingTime returns the subtask's clock.
func (h *base[Out]) ProcessingTime() time.Time { return h.clock.Now() }

// EndInput ends the input: the watermark advances to the maximum (firing
// every event-time timer), then the operators end.
func (h *base[Out]) EndInput() {
	h.t.Helper()
	h.run("", h.endInput)
}

// run wraps a step with the output's mutation check.
func (h *base[Out]) run(what string, fn func()) {
	h.t.Helper()
	h.out.beginStep()
	if what != "" {
		h.step(what, fn)
	} else {
		fn()
	}
	h.out.verify(false)
}

// Output returns everything the operator emitted so far, records and
// events interleaved in order.
func (h *base[Out]) Output() []Item[Out] {
	h.t.Helper()
	h.out.verify(true)
	return append([]Item[Out](nil), h.out.items...)
}

// Values returns the values of the records emitted so far, in order.
func (h *base[Out]) Values() []Out {
	h.t.Helper()
	h.out.verify(true)
	return h.out.values()
}

// Watermarks returns the watermarks emitted so far, in order.
func (h *base[Out]) Watermarks() []int64 {
	var wms []int64
	for _, it := range h.out.items {
		if wm, ok := it.Event.(operators.Watermark); ok {
			wms = append(wms, wm.Time)
		}
	}
	return wms
}

// ClearOutput forgets the output so far, so that the next assertions see
// only what comes after.
func (h *base[Out]) ClearOutput() {
	h.t.Helper()
	h.out.verify(true)
	h.out.items, h.out.emitted = nil, nil
	h.out.prevStart, h.out.curStart = 0, 0
}

// Timers returns how many timers (event and processing time) are set.
func (h *base[Out]) Timers() int {
	n, _ := h.chain.Counts()
	return n
}

// StateEntries returns how many keyed-state entries the operators hold.
func (h *base[Out]) StateEntries() int {
	_, n := h.chain.Counts()
	return n
}

// Watermark returns the subtask's input watermark.
func (h *base[Out]) Watermark() int64 { return h.chain.Watermark() }

// Err returns the operator's failure, with ExpectFailure; without it a
// failure ends the test.
func (h *base[Out]) Err() error { return h.err }

// TwoInputHarness runs one subtask of an operator with two inputs (a
// union, a join, a connected stream), feeding each input separately. Its
// watermark is the minimum of the two inputs', as in a job.
type TwoInputHarness[In1, In2, Out any] struct {
	base[Out]
}

// NewTwoInputHarness builds a harness for the operators that op adds to
// two streams; they must chain into one subtask.
func NewTwoInputHarness[In1, In2, Out any](t testing.TB, op func(operators.Stream[In1], operators.Stream[In2]) operators.Stream[Out], opts ...HarnessOption) *TwoInputHarness[In1, In2, Out] {
	t.Helper()
	h := &TwoInputHarness[In1, In2, Out]{base: base[Out]{core: core{t: t, cfg: newHarnessConfig(opts)}}}
	p := harnessPipeline(h.cfg)
	a, b := harnessInput[In1](p, 1), harnessInput[In2](p, 2)
	h.finish(p, op(a.Rebalance(), b.Rebalance()), 2)
	return h
}

// ProcessElement1 feeds a record on the first input.
func (h *TwoInputHarness[In1, In2, Out]) ProcessElement1(v In1, ts int64) {
	h.t.Helper()
	feed(&h.base, 0, v, ts)
}

// ProcessElement2 feeds a record on the second input.
func (h *TwoInputHarness[In1, In2, Out]) ProcessElement2(v In2, ts int64) {
	h.t.Helper()
	feed(&h.base, 1, v, ts)
}

// ProcessWatermark1 feeds a watermark on the first input.
func (h *TwoInputHarness[In1, In2, Out]) ProcessWatermark1(wm int64) {
	h.t.Helper()
	h.run("", func() { h.processWatermark(0, wm) })
}

// ProcessWatermark2 feeds a watermark on the second input.
func (h *TwoInputHarness[In1, In2, Out]) ProcessWatermark2(wm int64) {
	h.t.Helper()
	h.run("", func() { h.processWatermark(1, wm) })
}

// SetIdle1 announces the first input idle or active again.
func (h *TwoInputHarness[In1, In2, Out]) SetIdle1(idle bool) {
	h.t.Helper()
	h.run("", func() { h.setIdle(0, idle) })
}

// SetIdle2 announces the second input idle or active again.
func (h *TwoInputHarness[In1, In2, Out]) SetIdle2(idle bool) {
	h.t.Helper()
	h.run("", func() { h.setIdle(1, idle) })
}

// feed hands one record to logical input i of the subtask.
func feed[In, Out any](h *base[Out], i int, v In, ts int64) {
	h.t.Helper()
	h.run(fmt.Sprintf("record %v@%d on input %d", v, ts, i+1), func() {
		h.chain.Consume(h.inputCh[i], &operators.Batch[In]{Elems: []operators.Element[In]{{Value: v, Timestamp: ts}}})
	})
}
