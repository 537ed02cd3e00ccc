package mailbox

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestOutputGate_OfferAndGrant(t *testing.T) {
	g := NewOutputGate[int](2, 2)
	var sent []int
	send := func(m int) { sent = append(sent, m) }
	for i := range 5 {
		if g.Offer(0, i) {
			send(i)
		}
	}
	if !slices.Equal(sent, []int{0, 1}) || g.Queued() != 3 || !g.Blocked() {
		t.Fatalf("sent %v, queued %d: want the window of 2 sent and 3 queued", sent, g.Queued())
	}
	if !g.Offer(1, 100) {
		t.Fatal("channel 1 has its own credits and must not wait behind channel 0")
	}
	g.Grant(0, 1, send)
	if !slices.Equal(sent, []int{0, 1, 2}) || g.Credits(0) != 0 {
		t.Fatalf("after one credit sent %v, credits %d", sent, g.Credits(0))
	}
	g.Grant(0, 5, send)
	if !slices.Equal(sent, []int{0, 1, 2, 3, 4}) || g.Blocked() || g.Credits(0) != 3 {
		t.Fatalf("after five credits sent %v, blocked %v, credits %d", sent, g.Blocked(), g.Credits(0))
	}
	// With credit and nothing queued, a message goes at once.
	if !g.Offer(0, 5) || g.Credits(0) != 2 {
		t.Fatal("offer with credit and empty queue must send")
	}
}

func TestInputGate_PushNextAndBlock(t *testing.T) {
	g := NewInputGate[string](3, 2)
	for _, p := range []struct {
		ch int
		m  string
	}{{0, "a0"}, {0, "a1"}, {1, "b0"}, {2, "c0"}} {
		if err := g.Push(p.ch, p.m); err != nil {
			t.Fatalf("push %v: %v", p, err)
		}
	}
	if err := g.Push(0, "a2"); !errors.Is(err, ErrCreditViolation) {
		t.Fatalf("third push on a window of 2 = %v, want ErrCreditViolation", err)
	}
	g.SetBlocked(1, true)
	var got []string
	for {
		_, m, ok := g.Next()
		if !ok {
			break
		}
		got = append(got, m)
	}
	// Round robin over unblocked channels; per channel FIFO.
	if !slices.Equal(got, []string{"a0", "c0", "a1"}) || g.Queued() != 1 {
		t.Fatalf("got %v, queued %d", got, g.Queued())
	}
	g.SetBlocked(1, false)
	if ch, m, ok := g.Next(); !ok || ch != 1 || m != "b0" {
		t.Fatalf("after unblocking got %d %q %v", ch, m, ok)
	}
}

func TestStats_highWater(t *testing.T) {
	var s Stats
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				s.MessagePosted(nil)
			}
		}()
	}
	wg.Wait()
	for range 4000 {
		s.MessageReceived(nil)
	}
	snap := s.Snapshot()
	if snap.Posted != 4000 || snap.Received != 4000 || snap.Len() != 0 || snap.HighWater != 4000 {
		t.Fatalf("snapshot %+v", snap)
	}
	if Bound(2, 3, 4, 8) != 28 {
		t.Fatalf("Bound(2,3,4,8) = %d, want 28", Bound(2, 3, 4, 8))
	}
}

// FuzzGates drives a sender's OutputGate and a receiver's InputGate
// through a random interleaving and checks that nothing is lost, reordered
// or accepted without credit. Priority messages (negative) overtake the
// queue; the receiver handles them as they arrive, never queued, and
// returns their credit at once: at most one message beyond the window is
// ever in flight.
func FuzzGates(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0, 0, 1, 2, 2, 1}, uint8(2))
	f.Add([]byte{0, 0, 0, 4, 4, 1, 1, 1, 3, 2, 3, 1, 2, 3, 3, 1}, uint8(1))
	f.Fuzz(func(t *testing.T, ops []byte, window uint8) {
		w := int(window%4) + 1
		out, in := NewOutputGate[int](1, w), NewInputGate[int](1, w)
		var wire []int // in flight, FIFO
		credits := 0   // credits in flight back to the sender
		next, want := 0, 0
		prio, wantPrio := -1, -1
		send := func(m int) { wire = append(wire, m) }
		for _, op := range ops {
			switch op % 5 {
			case 0: // the sender produces
				if out.Offer(0, next) {
					send(next)
				}
				next++
			case 4: // the sender sends a priority message
				if out.OfferPriority(0, prio) {
					send(prio)
				}
				prio--
			case 1: // the wire delivers
				if len(wire) > 0 && wire[0] < 0 {
					if wire[0] != wantPrio {
						t.Fatalf("priority message %d delivered, want %d", wire[0], wantPrio)
					}
					wantPrio--
					wire = wire[1:]
					credits++
				} else if len(wire) > 0 {
					if err := in.Push(0, wire[0]); err != nil {
						t.Fatalf("credit violated with window %d: %v", w, err)
					}
					wire = wire[1:]
				}
			case 2: // the receiver consumes and returns a credit
				if _, m, ok := in.Next(); ok {
					if m != want {
						t.Fatalf("consumed %d, want %d", m, want)
					}
					want++
					credits++
				}
			case 3: // a credit arrives
				if credits > 0 {
					credits--
					out.Grant(0, 1, send)
				}
			}
			if len(wire)+in.Queued()+credits+out.Credits(0) != w {
				t.Fatalf("window not conserved: wire %d queued %d credits %d held %d, window %d",
					len(wire), in.Queued(), credits, out.Credits(0), w)
			}
			if out.Credits(0) < -1 || len(wire)+in.Queued() > w+1 {
				t.Fatalf("overdrawn: credits %d, %d in flight on a window of %d", out.Credits(0), len(wire)+in.Queued(), w)
			}
		}
	})
}
