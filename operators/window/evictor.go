package window

import (
	"fmt"
	"math"
	"time"
)

// NoTimestamp marks a record without an event timestamp; it equals
// operators.NoTimestamp.
const NoTimestamp int64 = math.MinInt64

// TimestampedValue is one record of a window as an evictor sees it: its
// value and its timestamp (NoTimestamp if it has none).
type TimestampedValue[T any] struct {
	Value     T     `json:"v"`
	Timestamp int64 `json:"ts"`
}

// Evictor removes records from a window when it fires, by their
// timestamps and positions alone, as Flink's evictors: EvictBefore runs
// before the window function (which sees only what is left), EvictAfter
// after it (the window keeps only what is left for its next firing).
// CountEvictor and TimeEvictor are evictors; one that looks at the
// records' values is an ElementEvictor.
//
// Each method is given the timestamps of the window's records, oldest
// first, and a slice drop of the same length, all false: it sets drop[i]
// for each record to remove. It is called on the subtask's goroutine.
type Evictor interface {
	EvictBefore(ts []int64, w Window, drop []bool)
	EvictAfter(ts []int64, w Window, drop []bool)
}

// ElementEvictor removes records from a window by their values and
// timestamps, as Evictor does by timestamps alone (DeltaEvictor).
type ElementEvictor[T any] interface {
	EvictBefore(elems []TimestampedValue[T], w Window, drop []bool)
	EvictAfter(elems []TimestampedValue[T], w Window, drop []bool)
}

// ByTimestamps adapts e to an ElementEvictor of records of type T.
func ByTimestamps[T any](e Evictor) ElementEvictor[T] { return byTimestamps[T]{e} }

type byTimestamps[T any] struct{ e Evictor }

// Validate returns what the adapted evictor's Validate returns.
func (b byTimestamps[T]) Validate() error { return validate(b.e) }

func (b byTimestamps[T]) EvictBefore(elems []TimestampedValue[T], w Window, drop []bool) {
	b.e.EvictBefore(timestamps(elems), w, drop)
}

func (b byTimestamps[T]) EvictAfter(elems []TimestampedValue[T], w Window, drop []bool) {
	b.e.EvictAfter(timestamps(elems), w, drop)
}

func timestamps[T any](elems []TimestampedValue[T]) []int64 {
	ts := make([]int64, len(elems))
	for i, e := range elems {
		ts[i] = e.Timestamp
	}
	return ts
}

// Evict runs e's EvictBefore (after false) or EvictAfter (after true)
// over elems and returns the records it keeps, oldest first: elems
// filtered in place, not a copy. The operator stores what is left as the
// window's contents, so that, for example, the state of a sliding count
// window stays bounded by its size plus its slide.
func Evict[T any](e ElementEvictor[T], elems []TimestampedValue[T], w Window, after bool) []TimestampedValue[T] {
	if len(elems) == 0 {
		return elems
	}
	drop := make([]bool, len(elems))
	if after {
		e.EvictAfter(elems, w, drop)
	} else {
		e.EvictBefore(elems, w, drop)
	}
	kept := elems[:0]
	for i, el := range elems {
		if !drop[i] {
			kept = append(kept, el)
		}
	}
	clear(elems[len(kept):]) // let the evicted values go
	return kept
}

// EvictWhen says whether an evictor runs before the window function
// (Flink's default) or after it.
type EvictWhen uint8

const (
	// BeforeFunction evicts before the window function runs: it sees
	// only the records kept.
	BeforeFunction EvictWhen = iota
	// AfterFunction evicts after the window function has seen every
	// record: the window keeps only the records kept for its next firing.
	AfterFunction
)

// String returns the constant's name.
func (w EvictWhen) String() string {
	if w == AfterFunction {
		return "AfterFunction"
	}
	return "BeforeFunction"
}

// CountEvictor keeps the last records of a window, up to a count
// (Flink's CountEvictor).
type CountEvictor struct {
	keep  int64
	after bool
}

// KeepLast returns an evictor keeping the last n records, evicting before
// the window function. An n below 1 is reported by Validate, and by
// operators.Window when the pipeline is built.
func KeepLast(n int64) CountEvictor { return NewCountEvictor(n, BeforeFunction) }

// NewCountEvictor returns an evictor keeping the last n records, evicting
// before or after the window function (Flink's CountEvictor.of(n,
// doEvictAfter)). An n below 1 is reported by Validate.
func NewCountEvictor(n int64, when EvictWhen) CountEvictor {
	return CountEvictor{keep: n, after: when == AfterFunction}
}

// Validate returns an error wrapping ErrInvalidEvictor unless the count
// is at least 1.
func (e CountEvictor) Validate() error {
	if e.keep < 1 {
		return fmt.Errorf("%w: count %d is below 1", ErrInvalidEvictor, e.keep)
	}
	return nil
}

// EvictBefore drops the oldest records beyond the last e.keep, if e
// evicts before the function.
func (e CountEvictor) EvictBefore(ts []int64, _ Window, drop []bool) {
	if !e.after {
		e.evict(ts, drop)
	}
}

// EvictAfter drops the oldest records beyond the last e.keep, if e
// evicts after the function.
func (e CountEvictor) EvictAfter(ts []int64, _ Window, drop []bool) {
	if e.after {
		e.evict(ts, drop)
	}
}

func (e CountEvictor) evict(ts []int64, drop []bool) {
	n := max(int64(len(ts))-e.keep, 0)
	for i := range n {
		drop[i] = true
	}
}

// TimeEvictor keeps the records of a window whose timestamps are within
// a size of the highest timestamp in the window, as Flink's TimeEvictor:
// it drops every record with ts ≤ highest − size, wherever it is. A
// window whose first record has no timestamp is left as it is.
type TimeEvictor struct {
	size  int64 // ms
	after bool
	err   error // the size cannot be used (Validate)
}

// NewTimeEvictor returns a time evictor keeping the records within size
// of the window's highest timestamp, evicting before or after the window
// function (Flink's TimeEvictor.of(size, doEvictAfter)). A size that is
// not a positive whole number of milliseconds is reported by Validate,
// and by operators.Window when the pipeline is built.
func NewTimeEvictor(size time.Duration, when EvictWhen) TimeEvictor {
	if size <= 0 || size%time.Millisecond != 0 {
		return TimeEvictor{err: fmt.Errorf("%w: size %v is not a positive whole number of milliseconds", ErrInvalidEvictor, size)}
	}
	return TimeEvictor{size: size.Milliseconds(), after: when == AfterFunction}
}

// Validate returns nil, or why the evictor cannot be used (an error
// wrapping ErrInvalidEvictor), which says so for a zero TimeEvictor.
func (e TimeEvictor) Validate() error {
	if e.err == nil && e.size <= 0 {
		return zeroValue(ErrInvalidEvictor, "TimeEvictor", "NewTimeEvictor")
	}
	return e.err
}

// EvictBefore drops the records too old for e, if e evicts before the
// function.
func (e TimeEvictor) EvictBefore(ts []int64, _ Window, drop []bool) {
	if !e.after {
		e.evict(ts, drop)
	}
}

// EvictAfter drops the records too old for e, if e evicts after the
// function.
func (e TimeEvictor) EvictAfter(ts []int64, _ Window, drop []bool) {
	if e.after {
		e.evict(ts, drop)
	}
}

func (e TimeEvictor) evict(ts []int64, drop []bool) {
	if len(ts) == 0 || ts[0] == NoTimestamp {
		return
	}
	highest := ts[0]
	for _, t := range ts[1:] {
		highest = max(highest, t)
	}
	cutoff := subSat(highest, e.size)
	for i, t := range ts {
		drop[i] = t <= cutoff
	}
}

// DeltaEvictor drops the records of a window whose delta to the window's
// last record is at least a threshold, as Flink's DeltaEvictor.
type DeltaEvictor[T any] struct {
	threshold float64
	delta     func(old, last T) float64
	after     bool
}

// NewDeltaEvictor returns a delta evictor: delta(old, last) measures how
// far a record is from the window's last record, and records at threshold
// or beyond are dropped, before or after the window function (Flink's
// DeltaEvictor.of(threshold, deltaFunction, doEvictAfter)). A nil delta
// is reported by Validate, and by operators.Window when the pipeline is
// built.
func NewDeltaEvictor[T any](threshold float64, delta func(old, last T) float64, when EvictWhen) DeltaEvictor[T] {
	return DeltaEvictor[T]{threshold: threshold, delta: delta, after: when == AfterFunction}
}

// Validate returns an error wrapping ErrInvalidEvictor if the delta
// function is nil.
func (e DeltaEvictor[T]) Validate() error {
	if e.delta == nil {
		return fmt.Errorf("%w: nil delta function", ErrInvalidEvictor)
	}
	return nil
}

// EvictBefore drops the records too far from the last one, if e evicts
// before the function.
func (e DeltaEvictor[T]) EvictBefore(elems []TimestampedValue[T], _ Window, drop []bool) {
	if !e.after {
		e.evict(elems, drop)
	}
}

// EvictAfter drops the records too far from the last one, if e evicts
// after the function.
func (e DeltaEvictor[T]) EvictAfter(elems []TimestampedValue[T], _ Window, drop []bool) {
	if e.after {
		e.evict(elems, drop)
	}
}

func (e DeltaEvictor[T]) evict(elems []TimestampedValue[T], drop []bool) {
	if len(elems) == 0 {
		return
	}
	last := elems[len(elems)-1].Value
	for i, el := range elems {
		drop[i] = e.delta(el.Value, last) >= e.threshold
	}
}

var (
	_ Evictor                = CountEvictor{}
	_ Evictor                = TimeEvictor{}
	_ ElementEvictor[string] = DeltaEvictor[string]{}
	_ ElementEvictor[string] = byTimestamps[string]{}
)
