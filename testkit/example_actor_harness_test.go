package testkit_test

import (
	"fmt"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// sessionActor is sessionTotals as a keyed actor: it sums each user's
// amounts in keyed state and emits the total once the watermark passes
// 10 ms after the user's last purchase.
type sessionActor struct {
	scope *operators.KeyedScope[string]
	sum   operators.ReducingState[int]
}

func (s *sessionActor) Receive(ctx actor.Context) {
	var out []operators.Element[string]
	switch m := ctx.Message().(type) {
	case *actors.Open[string]:
		s.scope = m.State
		s.sum, _ = operators.GetReducingState(m.State, spent)
	case *actors.KeyedInput[purchase, string]:
		for p := range m.All() { // p.Key, the user, is the current key
			s.sum.Add(p.Value.Amount)
			s.scope.RegisterEventTimer(p.Timestamp + 10)
		}
	case *actors.Timers[string]:
		for t := range m.All() {
			total, _ := s.sum.Get()
			out = append(out, operators.Element[string]{Value: fmt.Sprintf("%s:%d", t.Key, total), Timestamp: t.Time})
			s.sum.Clear()
		}
	case *actors.EndOfInput:
	default:
		return
	}
	ctx.Respond(&actors.Output[string]{Records: out})
}

func testSessionActor(t testing.TB) {
	props := actor.PropsFromProducer(func() actor.Actor { return &sessionActor{} })
	user := func(p purchase) string { return p.User }
	h := testkit.NewKeyedActorHarness[purchase, string, string](t, user, props)
	h.ProcessElement(purchase{"ann", 3}, 1)
	h.ProcessElement(purchase{"bob", 5}, 2)
	fmt.Println(h.RegisteredTimers())
	h.ProcessWatermark(11) // ann's timer (11) fires, bob's (12) not yet
	fmt.Println(h.Output())
	fmt.Println(h.Protocol())

	snap := h.Snapshot(1) // bob's sum and timer survive a failure
	restored := testkit.NewKeyedActorHarness[purchase, string, string](t, user, props, testkit.RestoreFrom(snap))
	restored.EndInput()
	fmt.Println(restored.Output())
}

// The keyed-actor harness runs the user's props synchronously, as the
// operator harness runs a function: each step returns once the actor has
// answered, with its output, its keyed state and timers to read.
func ExampleNewKeyedActorHarness() {
	runAsTest(testSessionActor)
	// Output:
	// [{ann {11 event-time}} {bob {12 event-time}}]
	// [ann:3@11 watermark(11)]
	// [Open KeyedInput(1) KeyedInput(1) Timers(event-time)]
	// [bob:5@12 watermark(max)]
	// passed
}
