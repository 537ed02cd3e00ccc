package async

import (
	"errors"
	"fmt"
	"testing"
)

// Checklist item 18 and the basic rules of each mode, as scripts (see
// script in helpers_test.go).
func TestQueue_script(t *testing.T) {
	tests := []struct {
		name     string
		mode     Mode
		capacity int
		steps    []string
	}{
		{"put fails when full of records", Ordered, 2, []string{
			"put r1 r2", "full r3", "full m1", "done r1", "pop r1", "put r3", "full r4"}},
		{"markers take a slot", Unordered, 2, []string{
			"put r1 m1", "full r2", "full m2", "done r1", "pop r1 m1", "put r2 m2"}},
		{"full then drained refills", Unordered, 1, []string{
			"put r1", "full r2", "done r1", "pop r1", "put r2", "done r2", "pop r2", "pop -"}},
		{"ordered releases only a completed head", Ordered, 4, []string{
			"put r1 r2 r3", "done r3 r2", "pop -", "done r1", "pop r1 r2 r3"}},
		{"ordered head marker leaves at once", Ordered, 4, []string{
			"put m1 r1 m2", "pop m1", "done r1", "pop r1 m2"}},
		{"ordered two adjacent markers", Ordered, 5, []string{
			"put r1 m1 m2 r2", "done r2", "pop -", "done r1", "pop r1 m1 m2 r2"}},
		{"unordered two adjacent markers", Unordered, 5, []string{
			"put r1 m1 m2 r2", "done r2", "pop -", "done r1", "pop r1 m1 m2 r2"}},
		{"key-ordered two adjacent markers", KeyOrdered, 5, []string{
			"put r1/1 m1 m2 r2/2", "done r2/2", "pop -", "done r1/1", "pop r1 m1 m2 r2"}},
		{"unordered releases in completion order", Unordered, 4, []string{
			"put r1 r2 r3", "done r3", "pop r3", "done r1", "done r2", "pop r1 r2"}},
		{"unordered only before the oldest pending marker", Unordered, 6, []string{
			"put r1 r2 m1 r3 r4", "done r4 r2", "pop r2", "done r3", "pop -",
			"done r1", "pop r1 m1 r4 r3"}},
		{"unordered records after a marker keep completion order", Unordered, 6, []string{
			"put r1 m1 r2 r3", "done r3 r2", "pop -", "done r1", "pop r1 m1 r3 r2"}},
		{"unordered never crosses a later marker", Unordered, 6, []string{
			"put r1 m1 r2 m2 r3", "done r3", "done r1", "pop r1 m1", "pop -",
			"done r2", "pop r2 m2 r3"}},
		{"key-ordered keeps order within a key", KeyOrdered, 6, []string{
			"put r1/1 r2/2 r3/1 r4/2", "done r3/1 r2/2", "pop r2", "done r4/2", "pop r4",
			"done r1/1", "pop r1 r3"}},
		{"key-ordered same key across a marker", KeyOrdered, 6, []string{
			"put r1/1 m1 r2/1 r3/1", "done r3/1 r2/1", "pop -", "done r1/1", "pop r1 m1 r2 r3"}},
		{"failure leaves in its turn", Ordered, 3, []string{
			"put r1 r2", "fail r2", "pop -", "done r1", "pop r1 r2!"}},
		{"completing twice is ignored", Unordered, 3, []string{
			"put r1", "done r1", "dup r1", "pop r1", "dup r1", "pop -"}},
		{"fail after complete is ignored", Ordered, 3, []string{
			"put r1", "done r1", "dup r1", "pop r1"}},
		{"empty queue pops nothing", KeyOrdered, 1, []string{"pop -", "put m1", "pop m1", "pop -"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%s", tt.mode, tt.name), func(t *testing.T) {
			runScript(t, tt.mode, tt.capacity, tt.steps)
		})
	}
}

func TestNewQueue_invalid(t *testing.T) {
	tests := []struct {
		mode     Mode
		capacity int
		want     error
	}{
		{Ordered, 0, ErrCapacity},
		{Unordered, -1, ErrCapacity},
		{KeyOrdered + 1, 10, ErrMode},
	}
	for _, tt := range tests {
		if _, err := NewQueue[int, int](tt.mode, tt.capacity); !errors.Is(err, tt.want) {
			t.Errorf("NewQueue(%v, %d) = %v, want %v", tt.mode, tt.capacity, err, tt.want)
		}
	}
}

func TestQueue_Complete_unknownHandle(t *testing.T) {
	q := newTestQueue[int, int](t, Ordered, 2)
	h, _ := q.Put(1, 1, 0)
	for _, bad := range []Handle{{}, {seq: h.seq + 1, slot: h.slot}, {seq: h.seq, slot: 7}, {seq: 1, slot: -1}} {
		if q.Complete(bad, nil) || q.Fail(bad, errors.New("x")) {
			t.Errorf("handle %+v was accepted", bad)
		}
	}
	q.Pop() // nothing leaves; the slot stays taken
	if !q.Complete(h, []int{1}) {
		t.Fatal("valid handle refused")
	}
	q.Pop()
	// The freed slot is reused by a new record: the old handle must not
	// reach it.
	h2, _ := q.Put(3, 3, 0)
	if h2.slot != h.slot || q.Complete(h, nil) {
		t.Errorf("stale handle %+v completed the record in its slot (%+v)", h, h2)
	}
}

func TestQueue_Fail_nilError(t *testing.T) {
	q := newTestQueue[int, int](t, Ordered, 1)
	h, _ := q.Put(1, 1, 0)
	q.Fail(h, nil)
	if e, _ := q.Pop(); !errors.Is(e.Err, ErrNilFailure) {
		t.Errorf("Err = %v, want ErrNilFailure", e.Err)
	}
}

func TestQueue_counters(t *testing.T) {
	q := newTestQueue[string, int](t, Unordered, 3)
	if !q.Empty() || q.Full() || q.Cap() != 3 || q.Mode() != Unordered {
		t.Fatalf("new queue: empty %v full %v cap %d mode %v", q.Empty(), q.Full(), q.Cap(), q.Mode())
	}
	h, _ := q.Put("a", 1, 0)
	q.PutMarker("wm")
	q.Put("b", 2, 0)
	if q.Len() != 3 || !q.Full() {
		t.Fatalf("len %d full %v, want 3 true", q.Len(), q.Full())
	}
	q.Complete(h, nil)
	if q.Len() != 3 {
		t.Fatalf("after complete: len %d", q.Len())
	}
	e, _ := q.Pop()
	if e.In != "a" || e.Ts != 1 || e.Results != nil || e.Err != nil || e.Handle != h {
		t.Errorf("popped %+v", e)
	}
	if q.Len() != 2 {
		t.Errorf("len %d after pop, want 2", q.Len())
	}
}

func TestQueue_Pending(t *testing.T) {
	q := newTestQueue[string, int](t, Unordered, 6)
	ha, _ := q.Put("a", 1, 7)
	q.PutMarker("wm1")
	hb, _ := q.Put("b", 2, 8)
	q.Put("c", 3, 9)
	q.Complete(ha, nil)
	q.Complete(hb, []int{1}) // completed but behind the marker: still pending
	q.Pop()                  // a leaves
	got := q.Pending()
	want := []PendingEntry[string]{
		{Kind: KindMarker, Marker: "wm1"},
		{Kind: KindRecord, In: "b", Ts: 2, Key: 8},
		{Kind: KindRecord, In: "c", Ts: 3, Key: 9},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Pending() = %v, want %v", got, want)
	}
}

func TestQueue_Attempt(t *testing.T) {
	q := newTestQueue[int, int](t, Ordered, 2)
	h, _ := q.Put(1, 1, 0)
	if a, ok := q.Attempt(h); a != 1 || !ok {
		t.Fatalf("Attempt = %d %v, want 1 true", a, ok)
	}
	if a, ok := q.NextAttempt(h); a != 2 || !ok {
		t.Fatalf("NextAttempt = %d %v, want 2 true", a, ok)
	}
	q.Complete(h, nil)
	if _, ok := q.Attempt(h); ok {
		t.Error("Attempt of a completed record reported ok")
	}
	if _, ok := q.NextAttempt(h); ok {
		t.Error("NextAttempt of a completed record reported ok")
	}
}

func TestMode_String(t *testing.T) {
	for m, want := range map[Mode]string{Ordered: "ordered", Unordered: "unordered",
		KeyOrdered: "key-ordered", 9: "Mode(9)"} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", m, got, want)
		}
	}
}
