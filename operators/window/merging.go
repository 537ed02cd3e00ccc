package window

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
)

// Pair maps an active window of a MergingSet to its state window: the
// window under which its contents are stored. The state window is the
// window the contents were first stored under, so merging moves no state
// of the biggest part and renames nothing in the state backend.
type Pair struct {
	Window Window
	State  Window
}

// MergeFunc is called by MergingSet.Add when windows merge into result.
// merged are the active windows absorbed (not the added window, which had
// no state yet); stateResult is the state window that result keeps, and
// stateMerged the state windows of merged other than stateResult, whose
// contents the function must merge into stateResult's and then clear. It
// also merges trigger state (Trigger.OnMerge) and cleanup timers.
//
// The slices are valid only during the call. The function must not call
// the set. If it returns an error, Add returns it and the set is
// unchanged.
type MergeFunc func(result Window, merged []Window, stateResult Window, stateMerged []Window) error

// MergingSet holds the active windows of one key of a merging (session)
// assigner, each with its state window. Active windows never overlap nor
// touch: Add merges them as they come. Like Flink's MergingWindowSet, it
// is loaded from keyed state for each record (Restore) and stored back
// after (Snapshot).
//
// Everything is kept in a slice sorted by Start, so the order of windows,
// snapshots and merge calls depends only on the windows added. A
// MergingSet is not safe for concurrent use.
type MergingSet struct {
	pairs       []Pair // sorted by Window.Start; windows pairwise apart
	merged      []Window
	stateMerged []Window
}

// NewMergingSet returns an empty set.
func NewMergingSet() *MergingSet { return &MergingSet{} }

// Len returns the number of active windows.
func (s *MergingSet) Len() int { return len(s.pairs) }

// Add adds w, merging it with the active windows it overlaps or touches,
// and returns the active window that now holds w. When other windows
// merge (or w extends one), merge is called first; when w is new and
// apart from all, or lies inside an active window, it is not. It returns
// an error wrapping ErrInvalidWindow if w is empty.
func (s *MergingSet) Add(w Window, merge MergeFunc) (Window, error) {
	if !w.valid() {
		return Window{}, fmt.Errorf("%w: add %v", ErrInvalidWindow, w)
	}
	lo, hi := s.touching(w)
	if lo == hi {
		s.pairs = slices.Insert(s.pairs, lo, Pair{Window: w, State: w})
		return w, nil
	}
	result := w.Cover(s.pairs[lo].Window).Cover(s.pairs[hi-1].Window)
	if hi-lo == 1 && result == s.pairs[lo].Window {
		return result, nil // w adds nothing: no state to merge
	}
	stateResult := s.pairs[lo].State // the earliest window's, deterministically
	s.merged, s.stateMerged = s.merged[:0], s.stateMerged[:0]
	for _, p := range s.pairs[lo:hi] {
		s.merged = append(s.merged, p.Window)
		if p.State != stateResult {
			s.stateMerged = append(s.stateMerged, p.State)
		}
	}
	if err := merge(result, s.merged, stateResult, s.stateMerged); err != nil {
		return Window{}, fmt.Errorf("window: merge into %v: %w", result, err)
	}
	s.pairs[lo] = Pair{Window: result, State: stateResult}
	s.pairs = slices.Delete(s.pairs, lo+1, hi)
	return result, nil
}

// touching returns the index range [lo, hi) of the active windows that w
// intersects. Sorted by Start and apart, the windows are sorted by End
// too, so the range is contiguous and two binary searches find it.
func (s *MergingSet) touching(w Window) (lo, hi int) {
	lo = sort.Search(len(s.pairs), func(i int) bool { return s.pairs[i].Window.End >= w.Start })
	hi = sort.Search(len(s.pairs), func(i int) bool { return s.pairs[i].Window.Start > w.End })
	return lo, max(lo, hi)
}

// find returns the index of active window w, or -1.
func (s *MergingSet) find(w Window) int {
	i := sort.Search(len(s.pairs), func(i int) bool { return s.pairs[i].Window.Start >= w.Start })
	if i < len(s.pairs) && s.pairs[i].Window == w {
		return i
	}
	return -1
}

// StateWindow returns the state window of active window w; ok is false if
// w is not active (a timer may outlive a window merged away).
func (s *MergingSet) StateWindow(w Window) (state Window, ok bool) {
	if i := s.find(w); i >= 0 {
		return s.pairs[i].State, true
	}
	return Window{}, false
}

// Remove drops active window w, once it is purged and cleaned up, and
// reports whether it was active.
func (s *MergingSet) Remove(w Window) bool {
	i := s.find(w)
	if i < 0 {
		return false
	}
	s.pairs = slices.Delete(s.pairs, i, i+1)
	return true
}

// Snapshot returns a copy of the set's pairs sorted by window start, for
// keyed state; Restore takes it back.
func (s *MergingSet) Snapshot() []Pair { return slices.Clone(s.pairs) }

// Restore replaces the set's contents with pairs, in any order, reusing
// its memory. It returns an error wrapping ErrInvalidWindow, and leaves
// the set empty, if a window is empty or two windows intersect: a
// snapshot of a MergingSet never has them.
func (s *MergingSet) Restore(pairs []Pair) error {
	s.pairs = append(s.pairs[:0], pairs...)
	slices.SortFunc(s.pairs, func(a, b Pair) int { return cmp.Compare(a.Window.Start, b.Window.Start) })
	for i, p := range s.pairs {
		if err := s.checkRestored(i, p); err != nil {
			s.pairs = s.pairs[:0]
			return err
		}
	}
	return nil
}

func (s *MergingSet) checkRestored(i int, p Pair) error {
	if !p.Window.valid() || !p.State.valid() {
		return fmt.Errorf("%w: restore %v (state %v)", ErrInvalidWindow, p.Window, p.State)
	}
	if i > 0 && s.pairs[i-1].Window.Intersects(p.Window) {
		return fmt.Errorf("%w: restore %v touching %v", ErrInvalidWindow, p.Window, s.pairs[i-1].Window)
	}
	return nil
}
