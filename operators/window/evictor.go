package window

import "fmt"

// Evictor removes a window's oldest records before the window function
// sees them. It decides from the count alone, so it needs neither the
// records' type nor their values.
type Evictor interface {
	// EvictBefore returns how many of the n records of w, oldest first,
	// to drop before the window is emitted.
	EvictBefore(n int, w Window) int
}

// CountEvictor keeps the last records of a window, up to a count.
type CountEvictor struct{ keep int64 }

// KeepLast returns an evictor keeping the last n records. It returns an
// error wrapping ErrInvalidEvictor unless n ≥ 1.
func KeepLast(n int64) (CountEvictor, error) {
	if n < 1 {
		return CountEvictor{}, fmt.Errorf("%w: count %d is below 1", ErrInvalidEvictor, n)
	}
	return CountEvictor{keep: n}, nil
}

// EvictBefore returns the number of records beyond the last e.keep.
func (e CountEvictor) EvictBefore(n int, _ Window) int {
	return int(max(int64(n)-e.keep, 0))
}

var _ Evictor = CountEvictor{}

// Evict returns what remains of records, oldest first, once e has evicted
// from it: a subslice of records, not a copy. The operator emits it and
// stores it back as the window's contents, so that the state of a
// sliding count window stays bounded by its size plus its slide.
func Evict[T any](e Evictor, records []T, w Window) []T {
	k := min(max(e.EvictBefore(len(records), w), 0), len(records))
	return records[k:]
}
