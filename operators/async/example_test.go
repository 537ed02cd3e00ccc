package async_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators/async"
)

// drain pops everything that may leave and prints it as result@timestamp,
// or the marker.
func drain(q *async.Queue[int, int]) {
	for e, ok := q.Pop(); ok; e, ok = q.Pop() {
		if e.IsMarker() {
			fmt.Println(e.Marker)
			continue
		}
		for _, r := range e.Results {
			fmt.Printf("%d@%d\n", r, e.Ts)
		}
	}
}

// In ordered mode results leave in input order, whatever order the calls
// complete in; the watermark keeps its place.
func ExampleQueue() {
	q, err := async.NewQueue[int, int](async.Ordered, 4)
	if err != nil {
		panic(err)
	}
	h1, _ := q.Put(1, 1, 0)
	h2, _ := q.Put(2, 2, 0)
	_ = q.PutMarker("WM2")
	h3, _ := q.Put(3, 3, 0)
	q.Complete(h3, []int{6})
	q.Complete(h2, []int{4})
	drain(q) // nothing: the head, r1, is still in flight
	q.Complete(h1, []int{2})
	drain(q)
	// Output:
	// 2@1
	// 4@2
	// WM2
	// 6@3
}

// In unordered mode a completed record leaves at once unless a marker put
// before it is still waiting; nothing crosses the watermark.
func ExampleQueue_unordered() {
	q, err := async.NewQueue[int, int](async.Unordered, 4)
	if err != nil {
		panic(err)
	}
	h1, _ := q.Put(1, 1, 0)
	h2, _ := q.Put(2, 2, 0)
	_ = q.PutMarker("WM2")
	h3, _ := q.Put(3, 3, 0)
	q.Complete(h3, []int{6}) // behind the watermark: waits
	q.Complete(h2, []int{4}) // leaves before r1
	drain(q)
	fmt.Println("--")
	q.Complete(h1, []int{2})
	drain(q)
	// Output:
	// 4@2
	// --
	// 2@1
	// WM2
	// 6@3
}

// A full queue refuses new input; the operator keeps the element and stops
// consuming until a Pop frees a slot. Markers take a slot, as in Flink.
func ExampleQueue_Put_full() {
	q, _ := async.NewQueue[string, string](async.Ordered, 2)
	h, _ := q.Put("a", 1, 0)
	_ = q.PutMarker("WM1")
	_, err := q.Put("b", 2, 0)
	fmt.Println(errors.Is(err, async.ErrFull), q.Full())
	q.Complete(h, []string{"A"})
	for _, ok := q.Pop(); ok; _, ok = q.Pop() {
	}
	_, err = q.Put("b", 2, 0)
	fmt.Println(err, q.Len())
	// Output:
	// true true
	// <nil> 1
}

// Retries and the timeout together: the timeout covers every attempt, so
// only the retries that start before it are made.
func ExampleDeadline_Next() {
	retry := async.ExponentialBackoff(5, 10*time.Millisecond, time.Second, 2)
	d := async.Deadline{Timeout: 100 * time.Millisecond}
	const call = 5 * time.Millisecond // each attempt takes 5ms, then fails
	elapsed := call
	for attempt := 1; ; attempt++ {
		delay, v := d.Next(retry, attempt, elapsed, errors.New("unavailable"), false)
		fmt.Println(attempt, v, delay)
		if v != async.Retry {
			break
		}
		elapsed += delay + call
	}
	// Output:
	// 1 retry 10ms
	// 2 retry 20ms
	// 3 retry 40ms
	// 4 timed out 0s
}
