package async

import "testing"

// The benchmarks keep a queue of capacity 100 full, completing and popping
// its head before each put: the steady state of an operator whose calls
// complete in order. The slice FIFO baseline does the same bookkeeping
// with the simplest structure, to show what the queue's rules cost.

const benchCapacity = 100

func BenchmarkQueue_putCompletePop(b *testing.B) {
	for _, mode := range []Mode{Ordered, Unordered, KeyOrdered} {
		b.Run(mode.String(), func(b *testing.B) { benchQueue(b, mode) })
	}
}

func benchQueue(b *testing.B, mode Mode) {
	q, err := NewQueue[int, int](mode, benchCapacity)
	if err != nil {
		b.Fatal(err)
	}
	results := []int{1}
	var handles [benchCapacity]Handle // handles[i%capacity] is record i's
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		slot := i % benchCapacity
		if q.Full() {
			q.Complete(handles[slot], results) // the oldest record
			if _, ok := q.Pop(); !ok {
				b.Fatal("completed head did not leave")
			}
		}
		h, err := q.Put(i, int64(i), uint64(i%16))
		if err != nil {
			b.Fatal(err)
		}
		handles[slot] = h
		i++
	}
}

// sliceEntry is the baseline's element: a slice FIFO completed by index
// and popped from the front.
type sliceEntry struct {
	in      int
	ts      int64
	done    bool
	results []int
}

func BenchmarkSliceFIFO_baseline(b *testing.B) {
	fifo := make([]sliceEntry, 0, 2*benchCapacity)
	results := []int{1}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if len(fifo) == benchCapacity {
			fifo[0].done, fifo[0].results = true, results
			if !fifo[0].done {
				b.Fatal("head not done")
			}
			fifo = fifo[1:]
		}
		if len(fifo) == cap(fifo) { // slid to the end of the buffer: move back
			fifo = append(make([]sliceEntry, 0, 2*benchCapacity), fifo...)
		}
		fifo = append(fifo, sliceEntry{in: i, ts: int64(i)})
		i++
	}
}
