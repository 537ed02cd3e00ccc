package operators

import (
	"fmt"
	"testing"
	"time"
)

// valueShipper records what a chain ships as it ships it — the values of
// int batches, watermarks as "wm@T" — and is full once limit batches
// have been shipped.
type valueShipper struct {
	got   []string
	ships int
	limit int
}

func (s *valueShipper) Ship(_ int, batch any) {
	for _, e := range batch.(*Batch[int]).Elems {
		s.got = append(s.got, fmt.Sprint(e.Value))
	}
	s.ships++
}

func (s *valueShipper) ShipEvent(_ int, ev Event) {
	if wm, ok := ev.(Watermark); ok {
		s.got = append(s.got, fmt.Sprintf("wm@%d", wm.Time))
	}
}

func (s *valueShipper) full() bool { return s.ships >= s.limit }

// openKeyedTimers opens the keyed process function of a pipeline whose
// records 1…3 set event-time timers at 10 and record 100 a
// processing-time timer 1 ms on; each timer emits its key. Its output
// ships every record on its own (batches of 1).
func openKeyedTimers(t *testing.T, clock *manualClock) (*Chain, *valueShipper) {
	t.Helper()
	p := NewPipeline("order")
	src := FromReader(p, "src", func(tc *TaskContext) (Reader[int], error) { return &burstReader{tc: tc, done: true}, nil })
	fired := ProcessKeyedWithTimers(KeyBy(src, func(v int) int { return v }),
		func(ctx *KeyedContext[int], v int, _ Collector[int]) error {
			if v == 100 {
				ctx.RegisterProcessingTimer(ctx.ProcessingTime().Add(time.Millisecond))
			} else {
				ctx.RegisterEventTimer(10)
			}
			return nil
		},
		func(ctx *KeyedContext[int], tm Timer, out Collector[int]) error {
			out.Collect(ctx.Key(), tm.Time)
			return nil
		}).Name("fire")
	Discard(fired.Rebalance())
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	sh := &valueShipper{limit: 1 << 30}
	for _, v := range g.Vertices {
		if v.Name == "fire" {
			c, err := v.Open(ChainConfig{Job: "order", BatchSize: 1, Ship: sh, Wake: func() {}, OutputFull: sh.full, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			batch := &Batch[int]{Elems: []Element[int]{{1, 1}, {2, 2}, {3, 3}, {100, 5}}}
			if !c.Consume(0, batch) {
				t.Fatal("the chain stopped in a batch that emits nothing")
			}
			c.BatchEnd()
			return c, sh
		}
	}
	t.Fatal("no vertex named fire")
	return nil, nil
}

// A watermark passes three event-time timers, and the output fills up
// after the first one fired: the other two, and the watermark, are held
// (firingHold). A processing-time timer that comes due after that must
// not overtake them: in Flink the watermark's timers all fire in the
// watermark's mailbox action, before any later processing-time timer,
// so a keyed process function sees — and emits — them in that order.
func TestKeyedTimers_processingTimerAfterHeldWatermarkDoesNotOvertakeIt(t *testing.T) {
	for _, tc := range []struct {
		name string
		// credit: whether credit has come back when the processing-time
		// timer fires (the runtime has not resumed the chain yet: it
		// yields to urgent mail first, say)
		credit bool
	}{{"output still full", false}, {"credit back, not resumed yet", true}} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newManualClock()
			c, sh := openKeyedTimers(t, clock)
			sh.limit = 1 // full after one shipment
			c.ProcessWatermark(0, 10)
			if !c.Pending() {
				t.Fatalf("shipped %v: the watermark's timers are not held with the output full", sh.got)
			}
			clock.Advance(2 * time.Millisecond) // record 100's timer is due
			if tc.credit {
				sh.limit = 1 << 30
			}
			if at, ok := c.NextProcessingTime(); ok && !at.After(clock.Now()) {
				c.OnProcessingTime(clock.Now())
			}
			sh.limit = 1 << 30
			for i := 0; c.Pending(); i++ {
				if c.Resume() {
					break
				}
				if i > 10 {
					t.Fatalf("still holding after %d resumes with room in the output; shipped %v", i, sh.got)
				}
			}
			if at, ok := c.NextProcessingTime(); ok && !at.After(clock.Now()) {
				c.OnProcessingTime(clock.Now())
			}
			c.Flush()
			if got, want := fmt.Sprint(sh.got), "[1 2 3 wm@10 100]"; got != want {
				t.Errorf("shipped %s, want %s: the processing-time timer overtook the watermark's timers", got, want)
			}
		})
	}
}
