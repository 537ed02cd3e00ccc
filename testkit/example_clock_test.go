package testkit_test

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/testkit"
)

// Code under test takes a testkit.Clock; the test gives it a ManualClock
// and moves time itself: timers fire inside Advance, in time order.
func ExampleManualClock() {
	clock := testkit.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var c testkit.Clock = clock // what the code under test sees

	c.AfterFunc(2*time.Second, func() { fmt.Println("flush at", c.Now().Format(time.TimeOnly)) })
	timeout := c.AfterFunc(5*time.Second, func() { fmt.Println("timed out") })

	clock.Advance(time.Second)
	fmt.Println("pending:", clock.Pending())
	clock.Advance(time.Second)
	fmt.Println("timeout stopped:", timeout.Stop())
	clock.Advance(time.Minute)
	fmt.Println("pending:", clock.Pending(), "at", clock.Now().Format(time.TimeOnly))
	// Output:
	// pending: 2
	// flush at 00:00:02
	// timeout stopped: true
	// pending: 0 at 00:01:02
}
