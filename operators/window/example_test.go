package window_test

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators/window"
)

// Hourly windows; a record before 1970 lands in the hour before zero.
func ExampleTumbling() {
	a := window.Tumbling(time.Hour)
	var buf []window.Window // reused for every record
	for _, ts := range []int64{7_200_000, 7_199_999, -1} {
		buf = a.Assign(ts, buf[:0])
		fmt.Println(ts, buf[0], buf[0].MaxTimestamp())
	}
	// Output:
	// 7200000 [7200000, 10800000) 10799999
	// 7199999 [3600000, 7200000) 7199999
	// -1 [-3600000, 0) -1
}

// Ten-second windows every five seconds: each record is in two.
func ExampleSliding() {
	a := window.Sliding(10*time.Second, 5*time.Second)
	fmt.Println(a.Assign(12_000, nil))
	// Output: [[10000, 20000) [5000, 15000)]
}

// Sessions with a 5 s gap: a record between two sessions joins them.
func ExampleMergingSet() {
	a := window.Session(5 * time.Second)
	set := window.NewMergingSet()
	merge := func(result window.Window, merged []window.Window, state window.Window, stateMerged []window.Window) error {
		fmt.Println("merge", merged, "into", result, "keeping state of", state, "absorbing", stateMerged)
		return nil
	}
	for _, ts := range []int64{0, 8_000, 4_000} {
		w, err := set.Add(a.Assign(ts, nil)[0], merge)
		if err != nil {
			panic(err)
		}
		fmt.Println(ts, "is in", w)
	}
	// Output:
	// 0 is in [0, 5000)
	// 8000 is in [8000, 13000)
	// merge [[0, 5000) [8000, 13000)] into [0, 13000) keeping state of [0, 5000) absorbing [[8000, 13000)]
	// 4000 is in [0, 13000)
}

// A record is late when even the allowed lateness does not cover it; a
// window's state is dropped at its cleanup time.
func ExampleIsLate() {
	w := window.Window{Start: 0, End: 10_000}
	lateness := int64(2_000)
	fmt.Println(window.CleanupTime(w, lateness))
	fmt.Println(window.IsLate(w, 11_000, lateness), window.IsElementLate(9_000, 11_000, lateness))
	fmt.Println(window.IsLate(w, 11_999, lateness), window.IsElementLate(9_000, 11_999, lateness))
	// Output:
	// 11999
	// false true
	// true true
}
