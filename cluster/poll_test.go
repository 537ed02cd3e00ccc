package cluster

import (
	"math"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The testkit's polling, in small: package cluster's tests cannot import
// testkit, which will import cluster. Same environment variable.

var timeFactor = sync.OnceValue(func() float64 {
	f, err := strconv.ParseFloat(os.Getenv("TROUPE_TEST_TIME_FACTOR"), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 1 {
		return 1
	}
	return f
})

// dilated scales d by TROUPE_TEST_TIME_FACTOR, for loaded machines.
func dilated(d time.Duration) time.Duration { return time.Duration(float64(d) * timeFactor()) }

// eventually polls cond every few milliseconds until it holds, and fails
// the test if it does not within d (dilated). cond runs on the test's
// goroutine.
func eventually(t testing.TB, d time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	d = dilated(d)
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: "+format, append([]any{d}, args...)...)
		}
		timer := time.NewTimer(5 * time.Millisecond)
		<-timer.C
	}
}
