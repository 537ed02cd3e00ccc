package window

import (
	"fmt"
	"math"
	"time"
)

// NoCleanup is what CleanupTime returns for a window whose state is never
// cleaned up by a timer: the operator registers no cleanup timer for it
// and it is never late.
const NoCleanup int64 = math.MaxInt64

// Lateness converts an allowed lateness from the API to milliseconds. It
// returns an error wrapping ErrInvalidLateness if d is negative or not a
// whole number of milliseconds.
func Lateness(d time.Duration) (int64, error) {
	if d < 0 || d%time.Millisecond != 0 {
		return 0, fmt.Errorf("%w: %v is negative or not whole milliseconds", ErrInvalidLateness, d)
	}
	return d.Milliseconds(), nil
}

// CleanupTime returns when the state of event-time window w is dropped:
// at its last timestamp plus the allowed lateness (ms, ≥ 0; a negative
// one counts as 0). The sum saturates at NoCleanup instead of
// overflowing, and GlobalWindow (or any window reaching the end of time)
// has NoCleanup. For a processing-time window pass lateness 0: it has
// none, and its state goes when it fires.
func CleanupTime(w Window, lateness int64) int64 {
	return addSat(w.MaxTimestamp(), max(lateness, 0))
}

// IsLate reports whether event-time window w is late at watermark: its
// cleanup time has come (CleanupTime(w, lateness) ≤ watermark), so its
// state is gone or going, and a record must not be added to it. A window
// with NoCleanup is never late.
//
// This is the window rule (Flink's isWindowLate); IsElementLate is the
// record rule. The operator skips each late window of a record and sends
// the record to the late side output when all of its windows were late.
// Such a record is always late by the record rule too, because
// ts ≤ w.MaxTimestamp() for each of its windows.
func IsLate(w Window, watermark, lateness int64) bool {
	c := CleanupTime(w, lateness)
	return c != NoCleanup && c <= watermark
}

// IsElementLate reports whether a record with timestamp ts is late at
// watermark: ts + lateness ≤ watermark (the sum saturating), that is,
// even the allowed lateness does not cover it. Lateness is in ms, ≥ 0;
// a negative one counts as 0.
//
// A late record is not necessarily dropped: with ts in a window that has
// not yet ended, (ts + lateness ≤ watermark < w.MaxTimestamp() +
// lateness), it still counts in that window. See IsLate.
func IsElementLate(ts, watermark, lateness int64) bool {
	return addSat(ts, max(lateness, 0)) <= watermark
}
