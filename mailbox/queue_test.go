package mailbox

import "testing"

func TestQueue_reusesStorageInOrder(t *testing.T) {
	var f Queue[int]
	next, want := 0, 0
	for round := range 50 {
		for range round%7 + 1 {
			f.Push(next)
			next++
		}
		for range round % 5 {
			if f.Len() == 0 {
				break
			}
			if got := f.Pop(); got != want {
				t.Fatalf("pop = %d, want %d", got, want)
			}
			want++
		}
	}
	for f.Len() > 0 {
		if got := f.Pop(); got != want {
			t.Fatalf("pop = %d, want %d", got, want)
		}
		want++
	}
	if want != next {
		t.Fatalf("popped %d of %d", want, next)
	}
}

func TestQueue_popClearsReference(t *testing.T) {
	var q Queue[*int]
	v := 1
	q.Push(&v)
	q.Push(&v)
	q.Pop()
	if q.items[0] != nil {
		t.Fatal("a popped element is still referenced")
	}
}
