package actors_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// The user actors of the actor-operator tests.

// tally is what the test actors emit: a record passed through (Seq, Key,
// and for the keyed counter its key's running Count), or, with Summary
// set, a summer's state at its end of input.
type tally struct {
	Seq     int64 `json:"seq"`
	Key     int64 `json:"key"`
	Count   int64 `json:"count"`
	Sum     int64 `json:"sum"`
	Summary bool  `json:"summary,omitempty"`
}

func tallyID(t tally) testkit.RecordID { return testkit.RecordID{Source: "gen", Seq: t.Seq} }

// records drops the summaries.
func records(ts []tally) []tally {
	var out []tally
	for _, t := range ts {
		if !t.Summary {
			out = append(out, t)
		}
	}
	return out
}

// partial is a part of a summer's state: how many records it counted and
// the sum of their sequence numbers. Each is one state entry, so that a
// rescale deals the parts out whole.
type partial struct {
	Count int64 `json:"count"`
	Sum   int64 `json:"sum"`
}

// summer is a stateful user actor (FromActor with WithState): it passes
// every record through and counts them; at its end of input it emits
// what it holds, restored parts included, as a summary. With union it
// keeps, of the entries every subtask gets back, those at its own
// positions (Union mode). trap, if not nil, makes it panic once where the
// test says.
type summer struct {
	parts []partial
	cur   partial
	union bool
	trap  *trap
}

// trap makes a test actor panic once: at the n-th message of kind ("input",
// "snapshot", "restore") over all its instances and attempts.
type trap struct {
	kind  string
	n     int64
	seen  atomic.Int64
	fired atomic.Bool
}

// spring panics if kind's n-th message has come and the trap has not
// fired yet.
func (t *trap) spring(kind string) {
	if t == nil || t.kind != kind || t.seen.Add(1) != t.n || !t.fired.CompareAndSwap(false, true) {
		return
	}
	panic(fmt.Sprintf("trap: %s %d", kind, t.n))
}

func summerProps(union bool, tr *trap) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &summer{union: union, trap: tr} })
}

func (s *summer) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Restore:
		s.trap.spring("restore")
		for i, e := range m.Entries {
			if s.union && i%m.Task.Parallelism != m.Task.Subtask {
				continue // another subtask's share
			}
			var p partial
			if err := json.Unmarshal(e, &p); err != nil {
				panic(err)
			}
			s.parts = append(s.parts, p)
		}
		ctx.Respond(&actors.Output[tally]{})
	case *actors.Input[keyed]:
		s.trap.spring("input")
		out := make([]operators.Element[tally], len(m.Records))
		for i, r := range m.Records {
			s.cur.Count++
			s.cur.Sum += r.Value.Seq
			out[i] = operators.Element[tally]{Value: tally{Seq: r.Value.Seq, Key: r.Value.Key}, Timestamp: r.Timestamp}
		}
		ctx.Respond(&actors.Output[tally]{Records: out})
	case *actors.Snapshot:
		s.trap.spring("snapshot")
		ctx.Respond(&actors.State{Entries: s.entries()})
	case *actors.EndOfInput:
		all := s.total()
		ctx.Respond(&actors.Output[tally]{Records: []operators.Element[tally]{
			{Value: tally{Count: all.Count, Sum: all.Sum, Summary: true}, Timestamp: operators.NoTimestamp}}})
	}
}

// entries encodes the restored parts and the current one, each an entry.
func (s *summer) entries() [][]byte {
	var out [][]byte
	for _, p := range append(append([]partial(nil), s.parts...), s.cur) {
		b, err := json.Marshal(p)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

func (s *summer) total() partial {
	t := s.cur
	for _, p := range s.parts {
		t.Count += p.Count
		t.Sum += p.Sum
	}
	return t
}

// runningCount is the keyed counter's state: its key's records so far.
var runningCount = operators.ValueDescriptor[int64]{Name: "count"}

// keyedCounter is a keyed user actor (FromKeyedActor): it counts each
// key's records in the engine's keyed state and emits every record with
// its key's running count. trap as summer's.
type keyedCounter struct {
	count operators.ValueState[int64]
	trap  *trap
}

func keyedCounterProps(tr *trap) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &keyedCounter{trap: tr} })
}

func (k *keyedCounter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.Open[int64]:
		var err error
		if k.count, err = operators.GetValueState(m.State, runningCount); err != nil {
			panic(err)
		}
		ctx.Respond(&actors.Output[tally]{})
	case *actors.KeyedInput[keyed, int64]:
		k.trap.spring("input")
		out := make([]operators.Element[tally], 0, m.Len())
		for r := range m.All() {
			c, _ := k.count.Value()
			c++
			k.count.Update(c)
			out = append(out, operators.Element[tally]{Value: tally{Seq: r.Value.Seq, Key: r.Key, Count: c}, Timestamp: r.Timestamp})
		}
		ctx.Respond(&actors.Output[tally]{Records: out})
	case *actors.EndOfInput:
		ctx.Respond(&actors.Output[tally]{})
	}
}
