package fraud

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// window is what the detector keeps per account and window: the spending
// so far.
type window struct {
	Amount int64 `json:"amount"`
	Count  int   `json:"count"`
}

// windows is the detector's keyed state: per account, the open windows
// by their start.
var windows = operators.MapDescriptor[int64, window]{Name: "windows"}

// Detector is the keyed actor that sums each account's spending per
// tumbling window of Window ms and emits a Spend when the watermark
// closes the window (an alert above Limit cents). It runs under
// actors.FromKeyedActor, which sends it Open, KeyedInput, Timers and
// EndOfInput; it answers each with the Spends it emits.
type Detector struct {
	Window int64 // ms
	Limit  int64 // cents

	state *operators.KeyedScope[string]
	open  operators.MapState[int64, window]
}

// Receive implements actor.Actor.
func (d *Detector) Receive(ctx actor.Context) {
	var out []operators.Element[Spend]
	switch m := ctx.Message().(type) {
	case *actors.Open[string]:
		if err := d.opened(m); err != nil {
			panic(err) // fails the subtask, naming the detector
		}
	case *actors.KeyedInput[Txn, string]:
		for r := range m.All() { // each with its account as the current key
			out = d.add(out, r.Value, r.Timestamp)
		}
	case *actors.Timers[string]:
		for t := range m.All() { // each with its account as the current key
			out = d.close(out, t.Time)
		}
	case *actors.EndOfInput:
		// the watermark went to its maximum before: every window is closed
	default:
		return // Proto.Actor's lifecycle messages
	}
	ctx.Respond(&actors.Output[Spend]{Records: out})
}

// opened gets the keyed state, once.
func (d *Detector) opened(m *actors.Open[string]) error {
	if d.Window <= 0 {
		return fmt.Errorf("fraud: window of %d ms", d.Window)
	}
	d.state = m.State
	var err error
	d.open, err = operators.GetMapState(m.State, windows)
	return err
}

// add counts a transaction of the current account in its window, and
// sets the timer that closes the window; a transaction whose window the
// watermark has closed already is emitted on its own, as late.
func (d *Detector) add(out []operators.Element[Spend], t Txn, ts int64) []operators.Element[Spend] {
	start := ts - ts%d.Window
	end := start + d.Window
	if end-1 <= d.state.CurrentWatermark() {
		return append(out, operators.Element[Spend]{Timestamp: ts,
			Value: Spend{Account: t.Account, Start: start, End: end, Amount: t.Amount, Count: 1, Late: true}})
	}
	w, _ := d.open.Get(start)
	w.Amount += t.Amount
	w.Count++
	d.open.Put(start, w)
	d.state.RegisterEventTimer(end - 1)
	return out
}

// close emits the window of the current account that ends at at+1.
func (d *Detector) close(out []operators.Element[Spend], at int64) []operators.Element[Spend] {
	start := at + 1 - d.Window
	w, ok := d.open.Get(start)
	if !ok {
		return out
	}
	d.open.Remove(start)
	s := Spend{Account: d.state.Key(), Start: start, End: at + 1, Amount: w.Amount, Count: w.Count, Alert: w.Amount > d.Limit}
	return append(out, operators.Element[Spend]{Value: s, Timestamp: at})
}
