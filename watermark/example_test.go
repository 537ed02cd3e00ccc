package watermark_test

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/watermark"
)

// A source split whose records are up to 4 s out of order.
func ExampleBoundedOutOfOrderness() {
	g := watermark.BoundedOutOfOrderness(4 * time.Second)
	for _, ts := range []int64{10_000, 7_000, 12_000} {
		g.OnEvent(ts)
	}
	wm, emit := g.OnPeriodic() // every Strategy.Interval
	fmt.Println(wm, emit)
	// Output: 7999 true
}

// A subtask with two inputs, one of which goes idle.
func ExampleValve() {
	v := watermark.NewValve(2)
	v.Watermark(0, 100)
	fmt.Println(v.Watermark(1, 50)) // the minimum
	c := v.SetIdle(1, true)         // input 1 stops holding it back
	fmt.Println(c.Watermark, c.Advanced)
	c = v.SetIdle(0, true) // the last one: the output goes idle
	fmt.Println(c.Status, c.StatusChanged)
	// Output:
	// 50 true
	// 100 true
	// idle true
}

// A split without records goes idle after the timeout, and comes back
// with its next record.
func ExampleIdleDetector() {
	d := watermark.NewIdleDetector(time.Minute, 0)
	at, _ := d.Deadline()
	fmt.Println(d.Check(at), d.OnRecord(at+5))
	// Output: true true
}

// Event-time timers fire when the watermark passes them.
func ExampleTimerQueue() {
	q := watermark.NewTimerQueue[string]()
	q.Register("alice", 2_000)
	q.Register("bob", 1_000)
	q.Register("alice", 2_000) // de-duplicated
	q.PopUpTo(1_999, func(key string, ts int64) { fmt.Println(key, ts) })
	fmt.Println(q.Len())
	// Output:
	// bob 1000
	// 1
}
