package testkit

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// Item is one element of an operator's output: a record or an event
// (watermark, stream status, barrier), in the order emitted.
type Item[T any] struct {
	// Event is nil for a record.
	Event     operators.Event
	Value     T
	Timestamp int64
}

// IsRecord reports whether the item is a record rather than an event.
func (i Item[T]) IsRecord() bool { return i.Event == nil }

// String shows a record as value@timestamp (just the value when it has no
// timestamp) and an event by its name, as in "watermark(5)".
func (i Item[T]) String() string {
	switch {
	case i.Event != nil:
		return i.Event.String()
	case i.Timestamp == operators.NoTimestamp:
		return fmt.Sprint(i.Value)
	}
	return fmt.Sprintf("%v@%d", i.Value, i.Timestamp)
}

// output records what the chain ships. Each record is stored as a copy
// decoded from its encoding, and the emitted original is kept so that a
// later mutation of it is detected.
type output[T any] struct {
	t       testing.TB
	codec   operators.Codec[T]
	items   []Item[T]
	emitted []emitted[T]
	// A step checks the records emitted by itself and by the step before
	// it: an operator that reuses one value mutates it at the latest when
	// it handles the next input.
	prevStart, curStart int
	noCheck             bool
}

type emitted[T any] struct {
	orig T
	enc  []byte
	item int
}

func (o *output[T]) Ship(_ int, batch any) {
	b := batch.(*operators.Batch[T])
	for _, e := range b.Elems {
		o.record(e.Value, e.Timestamp)
	}
}

func (o *output[T]) ShipEvent(_ int, ev operators.Event) {
	o.items = append(o.items, Item[T]{Event: ev})
}

func (o *output[T]) record(v T, ts int64) {
	o.t.Helper()
	if o.noCheck {
		o.items = append(o.items, Item[T]{Value: v, Timestamp: ts})
		return
	}
	enc, err := o.codec.Append(nil, v)
	if err != nil {
		o.t.Fatalf("harness: cannot encode emitted value %v: %v (use WithCodec, or WithoutCopyCheck)", v, err)
	}
	cp, err := o.codec.Decode(enc)
	if err != nil {
		o.t.Fatalf("harness: cannot decode emitted value %v: %v", v, err)
	}
	o.emitted = append(o.emitted, emitted[T]{orig: v, enc: enc, item: len(o.items)})
	o.items = append(o.items, Item[T]{Value: cp, Timestamp: ts})
}

// beginStep marks where the records of a new step start.
func (o *output[T]) beginStep() {
	o.prevStart, o.curStart = o.curStart, len(o.emitted)
}

// verify re-encodes emitted originals and fails the test if one changed
// since it was emitted: downstream operators in the same process see the
// very value, so mutating it corrupts their input. all checks every one;
// otherwise those of this step and the step before.
func (o *output[T]) verify(all bool) {
	o.t.Helper()
	from := o.prevStart
	if all {
		from = 0
	}
	var buf []byte
	for i := from; i < len(o.emitted); i++ {
		e := &o.emitted[i]
		buf, _ = o.codec.Append(buf[:0], e.orig)
		if !bytes.Equal(buf, e.enc) {
			o.t.Fatalf("harness: the operator mutated output record %d after emitting it: emitted %s, now %s",
				e.item, e.enc, buf)
		}
	}
}

func (o *output[T]) values() []T {
	var vs []T
	for _, it := range o.items {
		if it.IsRecord() {
			vs = append(vs, it.Value)
		}
	}
	return vs
}
