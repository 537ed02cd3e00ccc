package testkit

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// pollInterval bounds the wait between two evaluations of a polled
// condition; the first polls come faster.
const pollInterval = 10 * time.Millisecond

// Eventually polls cond until it returns true, and fails the test if it
// has not within d (dilated). msgAndArgs, optional, describe the condition
// in the failure: a format string and its arguments, or values to print.
// cond runs on the test's goroutine.
func Eventually(t testing.TB, d time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	d = Dilated(d)
	deadline := time.Now().Add(d)
	wait := 100 * time.Microsecond
	for !cond() {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			t.Fatalf("testkit: condition not met within %v: %s", d, describe(msgAndArgs))
		}
		timer := time.NewTimer(min(wait, remaining))
		<-timer.C
		wait = min(2*wait, pollInterval)
	}
}

// describe formats the optional message of an assertion.
func describe(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return "condition"
	}
	if format, ok := msgAndArgs[0].(string); ok {
		return fmt.Sprintf(format, msgAndArgs[1:]...)
	}
	return strings.TrimSuffix(fmt.Sprintln(msgAndArgs...), "\n") // spaced, like t.Log
}
