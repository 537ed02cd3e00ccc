package mailbox

import (
	"errors"
	"slices"
	"testing"
)

// A priority message (an unaligned checkpoint's barrier) overtakes what is
// queued for credit. It may go without credit, as Flink's priority events
// do, but at most one message beyond the window is ever in flight: a
// second one waits at the front for a credit.
func TestOutputGate_OfferPriority(t *testing.T) {
	g := NewOutputGate[int](1, 2)
	var sent []int
	send := func(m int) { sent = append(sent, m) }
	for i := range 4 {
		if g.Offer(0, i) {
			send(i)
		}
	}
	if !g.OfferPriority(0, 100) {
		t.Fatal("the first priority message must go at once, without credit")
	}
	send(100)
	if g.Credits(0) != -1 || g.Queued() != 2 {
		t.Fatalf("credits %d, queued %d: want -1 and the 2 it overtook", g.Credits(0), g.Queued())
	}
	if g.OfferPriority(0, 101) {
		t.Fatal("a second priority message beyond the window must wait")
	}
	g.Grant(0, 1, send) // repays the overdraft
	if !slices.Equal(sent, []int{0, 1, 100}) {
		t.Fatalf("sent %v after repaying the overdraft", sent)
	}
	g.Grant(0, 1, send)
	g.Grant(0, 2, send)
	if want := []int{0, 1, 100, 101, 2, 3}; !slices.Equal(sent, want) || g.Blocked() {
		t.Fatalf("sent %v, blocked %v; want %v: the waiting priority message first", sent, g.Blocked(), want)
	}
	g.Grant(0, 1, send)
	if !g.OfferPriority(0, 102) || g.Credits(0) != 0 {
		t.Fatalf("with credit a priority message takes one: credits %d", g.Credits(0))
	}
}

// PendingAt and RemovePending let the runtime record the data a barrier
// overtakes and take a barrier queued for credit out of the queue.
func TestOutputGate_RemovePending(t *testing.T) {
	g := NewOutputGate[string](2, 0)
	for _, m := range []string{"a", "b", "barrier", "c"} {
		g.Offer(1, m)
	}
	if g.Pending(1) != 4 || g.PendingAt(1, 2) != "barrier" || g.Pending(0) != 0 {
		t.Fatalf("pending %d, at 2 %q", g.Pending(1), g.PendingAt(1, 2))
	}
	if got := g.RemovePending(1, 2); got != "barrier" || g.Queued() != 3 {
		t.Fatalf("removed %q, queued %d", got, g.Queued())
	}
	var sent []string
	g.Grant(1, 3, func(m string) { sent = append(sent, m) })
	if !slices.Equal(sent, []string{"a", "b", "c"}) {
		t.Fatalf("sent %v", sent)
	}
}

// Recovered input (an unaligned checkpoint's input channel state) comes
// before anything that arrives, and takes no part of the credit window:
// its sender never sent it in this attempt.
func TestInputGate_PushRecovered(t *testing.T) {
	g := NewInputGate[string](2, 1)
	g.PushRecovered(0, "r0")
	g.PushRecovered(0, "r1")
	if err := g.Push(0, "a0"); err != nil {
		t.Fatalf("a window of 1 must still take one arrival: %v", err)
	}
	if err := g.Push(0, "a1"); !errors.Is(err, ErrCreditViolation) {
		t.Fatalf("second arrival on a window of 1 = %v, want ErrCreditViolation", err)
	}
	var got []string
	for {
		_, m, ok := g.Next()
		if !ok {
			break
		}
		got = append(got, m)
	}
	if !slices.Equal(got, []string{"r0", "r1", "a0"}) {
		t.Fatalf("consumed %v", got)
	}
	if err := g.Push(0, "a1"); err != nil {
		t.Fatalf("after the recovered ones are consumed the window is whole: %v", err)
	}
}

// Len, At and RemoveAt let the runtime find a barrier queued on a channel
// and take it out ahead of the data before it (an alignment that timed
// out).
func TestInputGate_RemoveAt(t *testing.T) {
	g := NewInputGate[string](2, 4)
	g.PushRecovered(1, "r")
	for _, m := range []string{"a", "barrier", "b"} {
		if err := g.Push(1, m); err != nil {
			t.Fatal(err)
		}
	}
	if g.Len(1) != 4 || g.At(1, 2) != "barrier" || g.Len(0) != 0 {
		t.Fatalf("len %d, at 2 %q", g.Len(1), g.At(1, 2))
	}
	if got := g.RemoveAt(1, 2); got != "barrier" || g.Queued() != 3 {
		t.Fatalf("removed %q, queued %d", got, g.Queued())
	}
	if g.RemoveAt(1, 0) != "r" || g.Len(1) != 2 {
		t.Fatal("removing the recovered head")
	}
	for _, m := range []string{"c", "d"} {
		if err := g.Push(1, m); err != nil {
			t.Fatalf("the window of 4 holds a, b and %s: %v", m, err)
		}
	}
}
