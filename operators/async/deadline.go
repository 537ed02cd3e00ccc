package async

import (
	"fmt"
	"time"
)

// Deadline bounds all attempts of one record by a single timeout that
// starts with the first attempt: retries do not restart it. This is
// Flink's rule, and it keeps a record's worst latency at Timeout whatever
// the retry strategy: a timeout shorter than the retries' total allows only
// the attempts that fit, then the timeout handler decides.
type Deadline struct {
	// Timeout is the budget from the start of the first attempt; 0 means
	// none.
	Timeout time.Duration
}

// Verdict is what to do with a record whose attempt has ended.
type Verdict uint8

const (
	// Done: no retry is wanted; complete or fail the record with the
	// attempt's outcome.
	Done Verdict = iota
	// Retry: invoke the record again after the returned delay.
	Retry
	// TimedOut: a retry is wanted but would not start before the timeout;
	// run the timeout handler, now or when the record's timer fires (the
	// outcome is the same; now frees the slot sooner).
	TimedOut
)

// String returns the verdict's name, for logs.
func (v Verdict) String() string {
	switch v {
	case Done:
		return "done"
	case Retry:
		return "retry"
	case TimedOut:
		return "timed out"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// Allows reports whether an attempt that would start delay from now, when
// elapsed has passed since the first attempt started, starts before the
// timeout fires. An attempt starting at the timeout could not finish.
func (d Deadline) Allows(elapsed, delay time.Duration) bool {
	return d.Timeout <= 0 || elapsed+delay < d.Timeout
}

// Next asks s whether to retry after attempt (from 1) ended with err and
// empty, elapsed after the first attempt started, and checks that the
// retry fits before the timeout. The delay is set only for Retry.
func (d Deadline) Next(s RetryStrategy, attempt int, elapsed time.Duration, err error,
	empty bool) (time.Duration, Verdict) {
	delay, retry := s.Next(attempt, err, empty)
	switch {
	case !retry:
		return 0, Done
	case !d.Allows(elapsed, delay):
		return 0, TimedOut
	}
	return delay, Retry
}
