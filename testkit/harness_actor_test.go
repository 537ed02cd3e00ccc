package testkit

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// runningSum is a non-keyed user actor with its own state (WithState,
// WithWatermarks): it emits the running sum of its input, holds the
// output watermark back by hold ms, and keeps its sum in one entry.
type runningSum struct {
	sum  int
	hold int64
}

func runningSumProps(hold int64) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &runningSum{hold: hold} })
}

func (r *runningSum) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Restore:
		for _, e := range m.Entries {
			var n int
			if err := json.Unmarshal(e, &n); err != nil {
				panic(err)
			}
			r.sum += n
		}
		ctx.Respond(&actors.Output[int]{})
	case *actors.Input[int]:
		out := make([]operators.Element[int], len(m.Records))
		for i, rec := range m.Records {
			r.sum += rec.Value
			out[i] = operators.Element[int]{Value: r.sum, Timestamp: rec.Timestamp}
		}
		ctx.Respond(&actors.Output[int]{Records: out})
	case *actors.Watermark:
		reply := &actors.Output[int]{}
		if r.hold > 0 && m.Time < operators.MaxWatermark {
			reply.Watermark = &actors.Watermark{Time: m.Time - r.hold}
		}
		ctx.Respond(reply)
	case *actors.Snapshot:
		b, _ := json.Marshal(r.sum)
		ctx.Respond(&actors.State{Entries: [][]byte{b}})
	case *actors.EndOfInput:
		ctx.Respond(&actors.Output[int]{Records: []operators.Element[int]{{Value: -r.sum, Timestamp: operators.NoTimestamp}}})
	}
}

func TestActorHarness_protocolInStreamOrder(t *testing.T) {
	h := NewActorHarness[int, int](t, runningSumProps(2),
		WithActorOptions(actors.WithState(actors.RoundRobin), actors.WithWatermarks()))
	h.ProcessElement(1, 10)
	h.ProcessElement(2, 11)
	h.ProcessWatermark(11)
	snap := h.Snapshot(1)
	h.ProcessElement(3, 12)
	h.EndInput()
	if got, want := showItems(h.Output()), "1@10 3@11 watermark(9) barrier(1) 6@12 watermark(max) -6"; got != want {
		t.Fatalf("output %s, want %s", got, want)
	}
	want := []string{"Input(1)", "Input(1)", "Watermark(11)", "Snapshot(1)", "Input(1)", "Watermark(max)", "EndOfInput"}
	if got := h.Protocol(); !slices.Equal(got, want) {
		t.Fatalf("the actor got %q, want %q", got, want)
	}
	if got := string(h.ActorState()[0]); got != "3" {
		t.Fatalf("the actor's state at snapshot 1 is %s, want 3", got)
	}

	restored := NewActorHarness[int, int](t, runningSumProps(0),
		WithActorOptions(actors.WithState(actors.RoundRobin)), RestoreFrom(snap))
	restored.ProcessElement(4, 20)
	if got, want := showItems(restored.Output()), "7@20"; got != want {
		t.Fatalf("after the restore: output %s, want %s", got, want)
	}
	if got, want := restored.Protocol(), []string{"Restore(1)", "Input(1)"}; !slices.Equal(got, want) {
		t.Fatalf("the restored actor got %q, want %q", got, want)
	}
}

// Without WithWatermarks the actor gets no Watermark, and the input
// watermark goes downstream after the output of the records before it.
func TestActorHarness_watermarksPassAfterTheRecordsBefore(t *testing.T) {
	h := NewActorHarness[int, int](t, runningSumProps(5))
	h.ProcessElement(1, 10)
	h.ProcessWatermark(10)
	h.ProcessElement(2, 11)
	if got, want := showItems(h.Output()), "1@10 watermark(10) 3@11"; got != want {
		t.Fatalf("output %s, want %s", got, want)
	}
	if got := h.Protocol(); !slices.Equal(got, []string{"Input(1)", "Input(1)"}) {
		t.Fatalf("the actor got %q", got)
	}
}

// protocolBreaker answers Snapshot with an Output, and Input with an
// Output twice.
type protocolBreaker struct{ twice bool }

func (p protocolBreaker) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actors.Snapshot:
		ctx.Respond(&actors.Output[int]{})
	case *actors.Input[int]:
		ctx.Respond(&actors.Output[int]{})
		if p.twice {
			ctx.Respond(&actors.Output[int]{})
		}
	}
}

func TestActorHarness_protocolErrors(t *testing.T) {
	t.Run("output-to-snapshot", func(t *testing.T) {
		h := NewActorHarness[int, int](t, actor.PropsFromProducer(func() actor.Actor { return protocolBreaker{} }),
			WithActorOptions(actors.WithState(actors.Union)), ExpectFailure())
		h.ProcessElement(1, 1)
		h.Snapshot(1)
		if err := h.Err(); !errors.Is(err, actors.ErrActorProtocol) || !strings.Contains(err.Error(), "Snapshot 1") {
			t.Fatalf("Err() = %v, want ErrActorProtocol naming Snapshot 1", err)
		}
	})
	t.Run("actor-stopped", func(t *testing.T) {
		// as in a job: the operator fails at once, not after the reply wait
		h := NewActorHarness[int, int](t, actor.PropsFromFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*actors.Input[int]); ok {
				ctx.Stop(ctx.Self())
			}
		}), WithActorOptions(actors.WithReplyTimeout(0)), ExpectFailure())
		start := time.Now()
		h.ProcessElement(1, 1)
		if err := h.Err(); !errors.Is(err, actors.ErrActorStopped) || time.Since(start) >= DefaultTimeout() {
			t.Fatalf("Err() = %v after %v, want ErrActorStopped at once", err, time.Since(start))
		}
	})
	t.Run("actor-stopped-after-answering", func(t *testing.T) {
		// its answer counts (the answer and the stop race to the harness:
		// 20 tries); the next message fails
		props := actor.PropsFromFunc(func(ctx actor.Context) {
			if m, ok := ctx.Message().(*actors.Input[int]); ok {
				ctx.Respond(&actors.Output[int]{Records: m.Records})
				ctx.Stop(ctx.Self())
			}
		})
		for i := range 20 {
			h := NewActorHarness[int, int](t, props, ExpectFailure())
			h.ProcessElement(i, int64(i))
			if err := h.Err(); err != nil {
				t.Fatalf("Err() = %v after an answered Input", err)
			}
			if got := h.Values(); len(got) != 1 || got[0] != i {
				t.Fatalf("output %v, want [%d]", got, i)
			}
			h.ProcessElement(i+1, int64(i+1))
			if err := h.Err(); !errors.Is(err, actors.ErrActorStopped) {
				t.Fatalf("Err() = %v after the actor stopped, want ErrActorStopped", err)
			}
		}
	})
	t.Run("panic", func(t *testing.T) {
		h := NewActorHarness[int, int](t, actor.PropsFromFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*actors.Input[int]); ok {
				panic("no input, thanks")
			}
		}), ExpectFailure())
		h.ProcessElement(1, 1)
		var pe *actors.PanicError
		if err := h.Err(); !errors.As(err, &pe) || pe.Value != "no input, thanks" {
			t.Fatalf("Err() = %v, want the actor's panic", err)
		}
	})
}

// keyCounts is a keyed user actor: it counts each key's records in keyed
// state and, with an event-time timer at the record's time + 10, emits
// the key's count and forgets it; a processing-time timer a second after
// a record emits "tick".
type keyCounts struct {
	count operators.ValueState[int]
	scope *operators.KeyedScope[string]
}

func keyCountsProps() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &keyCounts{} })
}

func (k *keyCounts) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Open[string]:
		k.scope = m.State
		var err error
		if k.count, err = operators.GetValueState(m.State, operators.ValueDescriptor[int]{Name: "count"}); err != nil {
			panic(err)
		}
		ctx.Respond(&actors.Output[string]{})
	case *actors.KeyedInput[click, string]:
		for range m.All() {
			n, _ := k.count.Value()
			k.count.Update(n + 1)
			k.scope.RegisterEventTimer(k.scope.Timestamp() + 10)
			k.scope.RegisterProcessingTimer(k.scope.ProcessingTime().Add(time.Second))
		}
		ctx.Respond(&actors.Output[string]{})
	case *actors.Timers[string]:
		var out []operators.Element[string]
		for tm := range m.All() {
			if tm.Domain == operators.ProcessingTime {
				out = append(out, operators.Element[string]{Value: tm.Key + " tick", Timestamp: operators.NoTimestamp})
				continue
			}
			n, _ := k.count.Value()
			out = append(out, operators.Element[string]{Value: tm.Key + " " + strings.Repeat("*", n), Timestamp: tm.Time})
			k.count.Clear()
		}
		ctx.Respond(&actors.Output[string]{Records: out})
	case *actors.EndOfInput:
		ctx.Respond(&actors.Output[string]{})
	}
}

func TestKeyedActorHarness_stateAndTimers(t *testing.T) {
	h := NewKeyedActorHarness[click, string, string](t, clickUser, keyCountsProps())
	h.ProcessElement(click{User: "ann"}, 1)
	h.ProcessElement(click{User: "bob"}, 2)
	h.ProcessElement(click{User: "ann"}, 1) // the same timer (ann, 11)
	count := operators.ValueDescriptor[int]{Name: "count"}
	h.State("ann", func(s *operators.KeyedScope[string]) {
		st, err := operators.GetValueState(s, count)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Value(); n != 2 {
			t.Fatalf("ann's count is %d, want 2", n)
		}
	})
	if got := len(h.RegisteredTimers()); got != 4 { // ann@11, bob@12 in event time; ann, bob in processing time
		t.Fatalf("%d timers set, want 4: %v", got, h.RegisteredTimers())
	}
	h.ProcessWatermark(11)
	if got, want := showItems(h.Output()), "ann **@11 watermark(11)"; got != want {
		t.Fatalf("output %s, want %s", got, want)
	}
	snap := h.Snapshot(1)
	h.AdvanceProcessingTime(time.Second + time.Millisecond)
	if got, want := showItems(h.Output()), "ann **@11 watermark(11) barrier(1) ann tick bob tick"; got != want {
		t.Fatalf("output %s, want %s", got, want)
	}
	want := []string{"Open", "KeyedInput(1)", "KeyedInput(1)", "KeyedInput(1)", "Timers(event-time)", "Timers(processing-time)"}
	if got := h.Protocol(); !slices.Equal(got, want) {
		t.Fatalf("the actor got %q, want %q", got, want)
	}

	restored := NewKeyedActorHarness[click, string, string](t, clickUser, keyCountsProps(), RestoreFrom(snap))
	restored.EndInput()
	if got, want := showItems(restored.Output()), "bob *@12 watermark(max)"; got != want {
		t.Fatalf("after the restore: output %s, want %s", got, want)
	}
}

// The keyed state acts only on the record or timer being handled: used
// with no key (in a Watermark) it fails the actor, and a state kept and
// used after the reply panics with operators.ErrOutOfScope.
func TestKeyedActorHarness_stateOutOfScope(t *testing.T) {
	var kept operators.ValueState[int]
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actors.Open[string]:
			kept, _ = operators.GetValueState(m.State, operators.ValueDescriptor[int]{Name: "n"})
			ctx.Respond(&actors.Output[string]{})
		case *actors.KeyedInput[click, string]:
			for range m.All() {
				kept.Update(1)
			}
			ctx.Respond(&actors.Output[string]{})
		case *actors.Watermark:
			kept.Update(2) // no current key
			ctx.Respond(&actors.Output[string]{})
		}
	})
	h := NewKeyedActorHarness[click, string, string](t, clickUser, props,
		WithActorOptions(actors.WithWatermarks()), ExpectFailure())
	h.ProcessElement(click{User: "ann"}, 1)
	func() {
		defer func() {
			err, _ := recover().(error)
			if !errors.Is(err, operators.ErrOutOfScope) {
				t.Fatalf("a state used after the reply: recovered %v, want ErrOutOfScope", err)
			}
		}()
		kept.Update(3)
	}()
	h.ProcessWatermark(5)
	if err := h.Err(); !errors.Is(err, operators.ErrOutOfScope) {
		t.Fatalf("Err() = %v, want ErrOutOfScope", err)
	}
}

// opaque is keyed state as Go code writes it: an unexported field, which
// JSON would encode as {} and so reset at the first restore.
type opaque struct{ n int }

// A keyed actor's state getters check both rules of their own: the
// state is got only while lent (asked for after the reply, it is
// ErrOutOfScope, before anything else is looked at), and a type JSON
// would not round-trip is refused at its registration, naming the state
// (ErrLossyJSON), as a process function's is.
func TestKeyedActorHarness_stateGettersCheckLeaseAndCodec(t *testing.T) {
	var scope *operators.KeyedScope[string]
	var openErr error
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actors.Open[string]:
			scope = m.State
			_, openErr = operators.GetValueState(m.State, operators.ValueDescriptor[opaque]{Name: "opaque"})
			ctx.Respond(&actors.Output[string]{})
		case *actors.KeyedInput[click, string]:
			ctx.Respond(&actors.Output[string]{})
		}
	})
	h := NewKeyedActorHarness[click, string, string](t, clickUser, props)
	h.ProcessElement(click{User: "ann"}, 1)
	if !errors.Is(openErr, operators.ErrLossyJSON) || !strings.Contains(openErr.Error(), `state "opaque"`) {
		t.Fatalf("in Open: GetValueState of a lossy type = %v, want ErrLossyJSON naming the state", openErr)
	}
	_, err := operators.GetValueState(scope, operators.ValueDescriptor[opaque]{Name: "opaque"})
	if !errors.Is(err, operators.ErrOutOfScope) {
		t.Fatalf("after the reply: GetValueState = %v, want ErrOutOfScope", err)
	}
}

// A snapshot after the end of input still asks the actor (a finished
// subtask takes part in the job's later checkpoints), and a restore at
// another parallelism gives the entries round robin, or all of them with
// Union: the mode the state was snapshotted with.
func TestActorHarness_snapshotAfterEndAndRescale(t *testing.T) {
	for _, c := range []struct {
		mode actors.Distribution
		sums []int // each new subtask's restored sum
	}{{actors.RoundRobin, []int{3, 10, 0}}, {actors.Union, []int{13, 13, 13}}} {
		opts := WithActorOptions(actors.WithState(c.mode))
		var snaps []*Snapshot
		for i, in := range [][]int{{1, 2}, {10}} {
			h := NewActorHarness[int, int](t, runningSumProps(0), WithSubtask(i, 2), opts)
			h.ProcessElements(in...)
			h.EndInput()
			snaps = append(snaps, h.Snapshot(7))
			if got := h.Protocol(); got[len(got)-1] != "Snapshot(7)" || got[len(got)-2] != "EndOfInput" {
				t.Fatalf("subtask %d: the actor got %q: want Snapshot(7) after EndOfInput", i, got)
			}
		}
		for i, want := range c.sums {
			h := NewActorHarness[int, int](t, runningSumProps(0), WithSubtask(i, 3), opts, RestoreFrom(snaps...))
			h.ProcessElement(0, operators.NoTimestamp)
			if got := h.Values(); got[0] != want {
				t.Fatalf("%v, subtask %d of 3: restored sum %d, want %d", c.mode, i, got[0], want)
			}
		}
	}
}

// A keyed actor with state of its own as well (WithState) gets Open, then
// Restore, before any input.
func TestKeyedActorHarness_withStateRestoresAfterOpen(t *testing.T) {
	var got []string
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actors.Open[string]:
			ctx.Respond(&actors.Output[string]{})
		case *actors.Restore:
			got = append(got, string(m.Entries[0]))
			ctx.Respond(&actors.Output[string]{})
		case *actors.KeyedInput[click, string]:
			ctx.Respond(&actors.Output[string]{})
		case *actors.Snapshot:
			ctx.Respond(&actors.State{Entries: [][]byte{[]byte("mine")}})
		}
	})
	opts := []HarnessOption{WithActorOptions(actors.WithState(actors.RoundRobin))}
	h := NewKeyedActorHarness[click, string, string](t, clickUser, props, opts...)
	h.ProcessElement(click{User: "ann"}, 1)
	snap := h.Snapshot(1)
	r := NewKeyedActorHarness[click, string, string](t, clickUser, props, append(opts, RestoreFrom(snap))...)
	r.ProcessElement(click{User: "bob"}, 2)
	if want := []string{"Open", "Restore(1)", "KeyedInput(1)"}; !slices.Equal(r.Protocol(), want) || !slices.Equal(got, []string{"mine"}) {
		t.Fatalf("the restored actor got %q with entries %q; want %q with [mine]", r.Protocol(), got, want)
	}
}

// A keyed actor that answers Timers without taking them would be sent
// them for ever: it fails instead.
func TestKeyedActorHarness_timersNotTaken(t *testing.T) {
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actors.Open[string], *actors.KeyedInput[click, string]:
			ctx.Respond(&actors.Output[string]{})
		case *actors.Timers[string]:
			ctx.Respond(&actors.Output[string]{}) // without taking them (All)
		}
	})
	h := NewKeyedActorHarness[click, string, string](t, clickUser, props, ExpectFailure())
	h.ProcessElement(click{User: "ann"}, 1)
	h.State("ann", func(s *operators.KeyedScope[string]) { s.RegisterEventTimer(5) })
	h.ProcessWatermark(5)
	if err := h.Err(); !errors.Is(err, actors.ErrActorProtocol) || !strings.Contains(err.Error(), "Timers.All") {
		t.Fatalf("Err() = %v, want ErrActorProtocol about Timers.All", err)
	}
}
