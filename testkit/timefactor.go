package testkit

import (
	"math"
	"os"
	"strconv"
	"sync"
	"time"
)

// TimeFactorEnv names the environment variable that scales every timeout of
// the kit, for slow or loaded machines (CI runners, -race on two cores):
// TROUPE_TEST_TIME_FACTOR=3 triples them.
const TimeFactorEnv = "TROUPE_TEST_TIME_FACTOR"

// defaultTimeout is how long an expectation waits, before dilation.
const defaultTimeout = 3 * time.Second

var timeFactor = sync.OnceValue(func() float64 {
	return parseTimeFactor(os.Getenv(TimeFactorEnv))
})

// parseTimeFactor returns s as a factor, or 1 when s is empty, not a
// number, not finite or below 1. Invalid values are ignored silently: they
// are read once per process, where no testing.TB is at hand to warn.
func parseTimeFactor(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 1 {
		return 1
	}
	return f
}

// TimeFactor returns the factor, at least 1, by which the kit scales its
// timeouts. It is read once from the environment variable TimeFactorEnv;
// unset or invalid values (not a number, below 1) give 1.
func TimeFactor() float64 { return timeFactor() }

// Dilated returns d scaled by TimeFactor. Every duration given to the kit
// (ExpectNoMessage, FishForMessage, Within, Eventually) is dilated; use
// Dilated for timeouts of your own, such as those of RequestFuture.
func Dilated(d time.Duration) time.Duration {
	f := TimeFactor()
	if f == 1 {
		return d
	}
	scaled := float64(d) * f
	if scaled >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(scaled)
}

// DefaultTimeout returns how long an expectation waits when no duration is
// given: 3 s, dilated.
func DefaultTimeout() time.Duration { return Dilated(defaultTimeout) }
