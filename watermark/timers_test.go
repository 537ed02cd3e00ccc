package watermark

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// popUpTo fires every timer up to ts and returns them as "key@time".
func popUpTo(t *testing.T, q *TimerQueue[string], ts int64) []string {
	t.Helper()
	var fired []string
	n := q.PopUpTo(ts, func(k string, t int64) { fired = append(fired, fmt.Sprintf("%s@%d", k, t)) })
	if n != len(fired) {
		t.Fatalf("PopUpTo(%d) returned %d, fired %d", ts, n, len(fired))
	}
	return fired
}

func wantFired(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("fired %q, want %q", got, want)
	}
}

func TestTimerQueue_Register_deduplicates(t *testing.T) {
	q := NewTimerQueue[string]()
	for _, r := range []struct {
		key  string
		ts   int64
		want bool
	}{{"a", 10, true}, {"a", 10, false}, {"b", 10, true}, {"a", 11, true}, {"b", 10, false}} {
		if got := q.Register(r.key, r.ts); got != r.want {
			t.Fatalf("Register(%s, %d) = %v, want %v", r.key, r.ts, got, r.want)
		}
	}
	if q.Len() != 3 {
		t.Fatalf("Len() = %d, want 3", q.Len())
	}
	wantFired(t, popUpTo(t, q, 100), "a@10", "b@10", "a@11")
}

func TestTimerQueue_Delete(t *testing.T) {
	q := NewTimerQueue[string]()
	q.Register("a", 10)
	q.Register("b", 5)
	q.Register("c", 20)
	if !q.Delete("b", 5) || q.Delete("b", 5) || q.Delete("a", 11) || q.Delete("z", 10) {
		t.Fatal("Delete reported wrongly")
	}
	if ts, ok := q.PeekTime(); !ok || ts != 10 || q.Len() != 2 {
		t.Fatalf("after deleting the head: PeekTime %d %v, Len %d", ts, ok, q.Len())
	}
	q.Delete("a", 10)
	q.Register("a", 10) // re-registered after deletion
	wantFired(t, popUpTo(t, q, 100), "a@10", "c@20")
}

func TestTimerQueue_order(t *testing.T) {
	q := NewTimerQueue[string]()
	for _, r := range []struct {
		key string
		ts  int64
	}{{"x", 30}, {"y", 10}, {"z", 20}, {"w", 10}, {"v", 30}, {"u", 10}} {
		q.Register(r.key, r.ts)
	}
	q.Delete("w", 10)
	q.Register("w", 10) // re-registered: last among the ties at 10
	want := []string{"y@10", "u@10", "w@10", "z@20", "x@30", "v@30"}
	var all []string
	for _, tm := range q.All() {
		all = append(all, fmt.Sprintf("%s@%d", tm.Key, tm.Time))
	}
	if !slices.Equal(all, want) {
		t.Fatalf("All() = %q, want %q", all, want)
	}
	wantFired(t, popUpTo(t, q, math.MaxInt64), want...)
}

func TestTimerQueue_PopUpTo_boundaries(t *testing.T) {
	q := NewTimerQueue[string]()
	q.Register("min", math.MinInt64)
	q.Register("a", 9)
	q.Register("b", 10)
	q.Register("c", 11)
	q.Register("max", math.MaxInt64)
	wantFired(t, popUpTo(t, q, math.MinInt64), "min@-9223372036854775808")
	wantFired(t, popUpTo(t, q, 8))
	wantFired(t, popUpTo(t, q, 10), "a@9", "b@10") // inclusive
	if ts, ok := q.PeekTime(); !ok || ts != 11 {
		t.Fatalf("PeekTime() = %d, %v; want 11", ts, ok)
	}
	wantFired(t, popUpTo(t, q, 10))
	wantFired(t, popUpTo(t, q, math.MaxInt64), "c@11", "max@9223372036854775807")
	if _, ok := q.PeekTime(); ok || q.Len() != 0 {
		t.Fatalf("not empty: Len %d", q.Len())
	}
	wantFired(t, popUpTo(t, q, math.MaxInt64))
}

func TestTimerQueue_PopUpTo_callbackChangesTimers(t *testing.T) {
	q := NewTimerQueue[string]()
	q.Register("a", 1)
	q.Register("b", 2)
	q.Register("c", 3)
	var fired []string
	q.PopUpTo(5, func(k string, ts int64) {
		fired = append(fired, fmt.Sprintf("%s@%d", k, ts))
		if len(fired) == 1 {
			q.Delete("b", 2)   // pending: never fires
			q.Register("d", 4) // due: fires in this call
			q.Register("e", 9) // not due
			q.Register("a", 1) // the firing timer itself: registered anew
		}
	})
	wantFired(t, fired, "a@1", "a@1", "c@3", "d@4")
	if q.Len() != 1 {
		t.Fatalf("Len() = %d, want 1 (e@9)", q.Len())
	}
}

func TestRestoreTimerQueue(t *testing.T) {
	q := NewTimerQueue[int]()
	for i := range 20 {
		q.Register(i, int64(i%4))
	}
	snap := q.All()
	r := RestoreTimerQueue(append(snap, snap[3])) // a duplicate is kept once
	if r.Len() != q.Len() || !slices.Equal(r.All(), snap) {
		t.Fatalf("restored %v, want %v", r.All(), snap)
	}
	var a, b []Timer[int]
	q.PopUpTo(2, func(k int, ts int64) { a = append(a, Timer[int]{k, ts}) })
	r.PopUpTo(2, func(k int, ts int64) { b = append(b, Timer[int]{k, ts}) })
	if !slices.Equal(a, b) || len(a) != 15 {
		t.Fatalf("restored queue fired %v, original %v", b, a)
	}
}

// PopNext fires one timer at a time in PopUpTo's order, and sees timers
// registered between two calls.
func TestTimerQueue_PopNext(t *testing.T) {
	q := NewTimerQueue[string]()
	q.Register("b", 2)
	q.Register("a", 2)
	q.Register("c", 7)
	var fired []string
	for {
		tm, ok := q.PopNext(5)
		if !ok {
			break
		}
		fired = append(fired, fmt.Sprintf("%s@%d", tm.Key, tm.Time))
		if tm.Key == "b" {
			q.Register("d", 1) // due, earlier than a: fires next
		}
	}
	wantFired(t, fired, "b@2", "d@1", "a@2")
	if q.Len() != 1 {
		t.Fatalf("Len() = %d, want 1 (c@7)", q.Len())
	}
	if _, ok := NewTimerQueue[int]().PopNext(math.MaxInt64); ok {
		t.Fatal("PopNext on an empty queue returned a timer")
	}
}

// A timer moved later again and again (a session window's end as its
// key's records come) fires once, at its last time, in time order with
// the other groups' timers; Len and All hold only the registered timers
// while the stale hints wait in the heap.
func TestGroupedTimerQueue_movedTimer(t *testing.T) {
	q := NewGroupedTimerQueue[string](func(k string) byte { return k[0] })
	q.Register("a1", 10)
	q.Register("b1", 12)
	for ts := int64(11); ts <= 20; ts++ { // a's session extended by each record
		q.Register("a1", ts)
		if !q.Delete("a1", ts-1) {
			t.Fatalf("Delete(a1, %d) = false", ts-1)
		}
	}
	q.Register("a2", 14) // another window of group a, before the moved one
	if q.Len() != 3 || !slices.Equal(q.All(), []Timer[string]{{"b1", 12}, {"a2", 14}, {"a1", 20}}) {
		t.Fatalf("Len %d, All %v", q.Len(), q.All())
	}
	if ts, ok := q.PeekTime(); !ok || ts != 12 {
		t.Fatalf("PeekTime() = %d, %v; want 12", ts, ok)
	}
	wantFired(t, popGrouped(q, 15), "b1@12", "a2@14")
	wantFired(t, popGrouped(q, 100), "a1@20")
	if q.Len() != 0 || len(q.All()) != 0 {
		t.Fatalf("after firing all: Len %d, All %v", q.Len(), q.All())
	}
}

func popGrouped(q *GroupedTimerQueue[string, byte], ts int64) []string {
	var fired []string
	q.PopUpTo(ts, func(k string, t int64) { fired = append(fired, fmt.Sprintf("%s@%d", k, t)) })
	return fired
}
