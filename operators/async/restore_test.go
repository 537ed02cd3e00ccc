package async

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// restore puts a snapshot's pending entries into a new queue, as the
// sequencer does on recovery, and returns the new handles in input order.
func restore(t testing.TB, mode Mode, capacity int, pending []PendingEntry[string]) (*Queue[string, string], []Handle) {
	t.Helper()
	q := newTestQueue[string, string](t, mode, capacity)
	var hs []Handle
	for _, p := range pending {
		if p.IsMarker() {
			if err := q.PutMarker(p.Marker); err != nil {
				t.Fatalf("restore marker %v: %v", p.Marker, err)
			}
			continue
		}
		h, err := q.Put(p.In, p.Ts, p.Key)
		if err != nil {
			t.Fatalf("restore %s: %v", p.In, err)
		}
		hs = append(hs, h)
	}
	return q, hs
}

// putAll puts records named like "a1" with key hash the letter.
func putAll(t testing.TB, q *Queue[string, string], names ...string) []Handle {
	t.Helper()
	var hs []Handle
	for i, n := range names {
		h, err := q.Put(n, int64(i), uint64(n[0]))
		if err != nil {
			t.Fatalf("Put(%s): %v", n, err)
		}
		hs = append(hs, h)
	}
	return hs
}

// completeReversed completes the handles newest first, with the input in
// upper case as the result, and returns what leaves.
func completeReversed(q *Queue[string, string], hs []Handle, inputs map[Handle]string) []string {
	var out []string
	for i := len(hs) - 1; i >= 0; i-- {
		q.Complete(hs[i], []string{strings.ToUpper(inputs[hs[i]])})
		for e, ok := q.Pop(); ok; e, ok = q.Pop() {
			if e.IsMarker() {
				out = append(out, fmt.Sprint(e.Marker))
			} else {
				out = append(out, e.Results[0])
			}
		}
	}
	return out
}

func inputsOf(q *Queue[string, string], hs []Handle) map[Handle]string {
	m := map[Handle]string{}
	for _, h := range hs {
		m[h] = q.slots[h.slot].in
	}
	return m
}

// Checklist 5 and 13 at queue level: a full queue of 4 in-flight records
// (the function blocked) is snapshotted, restored with capacity 6, 4 more
// are added and a second snapshot is taken mid-stream; all 8 results come
// out in input order.
func TestQueue_snapshotRestoreOrdered(t *testing.T) {
	q := newTestQueue[string, string](t, Ordered, 4)
	putAll(t, q, "a1", "a2", "a3", "a4")
	if !q.Full() {
		t.Fatal("queue should be full")
	}
	q2, hs := restore(t, Ordered, 6, q.Pending()) // invoked again
	hs = append(hs, putAll(t, q2, "a5", "a6")...)
	// a1 and a2 complete and leave before the second checkpoint.
	out := completeReversed(q2, hs[:2], inputsOf(q2, hs[:2]))
	q3, hs3 := restore(t, Ordered, 6, q2.Pending())
	hs3 = append(hs3, putAll(t, q3, "a7", "a8")...)
	out = append(out, completeReversed(q3, hs3, inputsOf(q3, hs3))...)
	got := strings.Join(out, " ")
	if want := "A1 A2 A3 A4 A5 A6 A7 A8"; got != want {
		t.Errorf("output %s, want %s", got, want)
	}
}

// Checklist 19: key-ordered mode keeps order within a key only, also
// across a restore, and never moves a record across a marker.
func TestQueue_keyOrderedRestore(t *testing.T) {
	q := newTestQueue[string, string](t, KeyOrdered, 6)
	hs := putAll(t, q, "a1", "b1", "a2", "b2")
	q.Complete(hs[3], []string{"B2"}) // waits for b1
	q.Complete(hs[1], []string{"B1"}) // b1 leaves, then b2
	var left []string
	for e, ok := q.Pop(); ok; e, ok = q.Pop() {
		left = append(left, e.Results[0])
	}
	if strings.Join(left, " ") != "B1 B2" {
		t.Fatalf("before snapshot: %v, want B1 B2", left)
	}
	if err := q.PutMarker("WM"); err != nil {
		t.Fatal(err)
	}
	putAll(t, q, "b3", "a3")
	q2, hs2 := restore(t, KeyOrdered, 3+3, q.Pending())
	got := strings.Join(completeReversed(q2, hs2, inputsOf(q2, hs2)), " ")
	// Newest first: a2 completes before a1 but waits for it; nothing
	// behind the marker leaves before it.
	if want := "A1 A2 WM A3 B3"; got != want {
		t.Errorf("after restore: %s, want %s", got, want)
	}
}

// Checklist 17 at strategy level: a timeout shorter than the retries'
// total lets only the attempts that fit start, then the timeout handler
// decides.
func TestDeadline_retriesThatFit(t *testing.T) {
	strategy := FixedDelay(5, 10*time.Millisecond)
	d := Deadline{Timeout: 25 * time.Millisecond}
	attempts, elapsed, verdict := 1, time.Duration(0), Retry
	for {
		var delay time.Duration
		delay, verdict = d.Next(strategy, attempts, elapsed, fmt.Errorf("down"), false)
		if verdict != Retry {
			break
		}
		elapsed += delay // each attempt fails at once
		attempts++
	}
	// Attempts start at 0, 10 and 20 ms; the next would start at 30.
	if attempts != 3 || verdict != TimedOut {
		t.Errorf("%d attempts, verdict %v; want 3, timed out", attempts, verdict)
	}
}
