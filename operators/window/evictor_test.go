package window

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// dropped runs one call of e over timestamps ts and returns the indexes
// it drops.
func dropped(ts []int64, call func(ts []int64, w Window, drop []bool)) []int {
	drop := make([]bool, len(ts))
	call(ts, GlobalWindow, drop)
	var out []int
	for i, d := range drop {
		if d {
			out = append(out, i)
		}
	}
	return out
}

func TestCountEvictor_beforeOrAfter(t *testing.T) {
	ts := []int64{1, 2, 3, 4}
	before, after := NewCountEvictor(3, BeforeFunction), NewCountEvictor(3, AfterFunction)
	if got := dropped(ts, before.EvictBefore); !slices.Equal(got, []int{0}) {
		t.Fatalf("before: EvictBefore drops %v", got)
	}
	if got := dropped(ts, before.EvictAfter); got != nil {
		t.Fatalf("before: EvictAfter drops %v", got)
	}
	if got := dropped(ts, after.EvictBefore); got != nil {
		t.Fatalf("after: EvictBefore drops %v", got)
	}
	if got := dropped(ts, after.EvictAfter); !slices.Equal(got, []int{0}) {
		t.Fatalf("after: EvictAfter drops %v", got)
	}
}

func TestTimeEvictor(t *testing.T) {
	e := NewTimeEvictor(10*time.Millisecond, BeforeFunction)
	for _, c := range []struct {
		ts   []int64
		want []int
	}{
		{nil, nil},
		{[]int64{5}, nil},
		{[]int64{12, 0, 25, 20}, []int{0, 1}}, // at or below 25 − 10
		{[]int64{15, 25}, []int{0}},           // exactly the size apart
		{[]int64{NoTimestamp, 30, 1}, nil},    // no timestamp: as Flink, nothing
		{[]int64{30, NoTimestamp}, []int{1}},  // NoTimestamp is below any cutoff
	} {
		if got := dropped(c.ts, e.EvictBefore); !slices.Equal(got, c.want) {
			t.Errorf("%v: drops %v, want %v", c.ts, got, c.want)
		}
	}
	if got := dropped([]int64{0, 30}, e.EvictAfter); got != nil {
		t.Errorf("EvictAfter of an evictor before the function drops %v", got)
	}
}

func TestDeltaEvictor(t *testing.T) {
	e := NewDeltaEvictor(5, func(old, last int) float64 { return float64(last - old) }, AfterFunction)
	elems := []TimestampedValue[int]{{1, 0}, {8, 0}, {4, 0}, {10, 0}}
	if got := Evict[int](e, slices.Clone(elems), GlobalWindow, false); len(got) != 4 {
		t.Fatalf("before: kept %v, want all", got)
	}
	got := Evict[int](e, elems, GlobalWindow, true)
	if fmt.Sprint(got) != "[{8 0} {10 0}]" {
		t.Fatalf("after: kept %v, want 8 and 10", got)
	}
}

func TestEvictors_invalid(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
	}{
		{"count 0", NewCountEvictor(0, AfterFunction).Validate()},
		{"time 0", NewTimeEvictor(0, BeforeFunction).Validate()},
		{"time fractional", NewTimeEvictor(1500*time.Microsecond, BeforeFunction).Validate()},
		{"delta nil", NewDeltaEvictor[int](1, nil, BeforeFunction).Validate()},
	} {
		if !errors.Is(c.err, ErrInvalidEvictor) {
			t.Errorf("%s: err = %v, want ErrInvalidEvictor", c.name, c.err)
		}
	}
}
