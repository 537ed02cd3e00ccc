package persistence

import "fmt"

// Range is the half-open range of key groups [Start, End) that a subtask
// owns.
type Range struct{ Start, End int }

// Contains reports whether key group kg lies in the range.
func (r Range) Contains(kg int) bool { return kg >= r.Start && kg < r.End }

// Len returns the number of key groups in the range.
func (r Range) Len() int { return max(r.End-r.Start, 0) }

// String formats the range as [Start, End).
func (r Range) String() string { return fmt.Sprintf("[%d, %d)", r.Start, r.End) }
