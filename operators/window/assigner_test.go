package window

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// mustAssign runs a and checks that every window holds ts.
func mustAssign(t testing.TB, a Assigner, ts int64) []Window {
	t.Helper()
	ws := a.Assign(ts, nil)
	for _, w := range ws {
		if !w.Contains(ts) {
			t.Fatalf("%v: window %v of %d does not contain it", a, w, ts)
		}
	}
	return ws
}

func wantWindows(t testing.TB, got []Window, want ...Window) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("windows %v, want %v", got, want)
	}
}

func TestTumbling_Assign(t *testing.T) {
	for _, c := range []struct {
		size, offset time.Duration
		ts           int64
		want         Window
	}{
		{10 * time.Millisecond, 0, 0, Window{0, 10}},
		{10 * time.Millisecond, 0, 9, Window{0, 10}}, // the last timestamp is end-1
		{10 * time.Millisecond, 0, 10, Window{10, 20}},
		{10 * time.Millisecond, 0, -1, Window{-10, 0}},
		{10 * time.Millisecond, 0, -10, Window{-10, 0}},
		{10 * time.Millisecond, 0, -11, Window{-20, -10}},
		{10 * time.Millisecond, 3 * time.Millisecond, 2, Window{-7, 3}},
		{10 * time.Millisecond, 3 * time.Millisecond, 3, Window{3, 13}},
		{10 * time.Millisecond, -3 * time.Millisecond, 0, Window{-3, 7}},
		{10 * time.Millisecond, -3 * time.Millisecond, -14, Window{-23, -13}},
		{time.Hour, 0, 1_700_000_123_456, Window{1_699_999_200_000, 1_700_002_800_000}},
		{10 * time.Millisecond, 0, math.MaxInt64, Window{math.MaxInt64 - 7, math.MaxInt64}},
		{10 * time.Millisecond, 0, math.MinInt64, Window{math.MinInt64, math.MinInt64 + 8}}, // true start MinInt64-2 saturates,
	} {
		a := Tumbling(c.size).WithOffset(c.offset)
		wantWindows(t, mustAssign(t, a, c.ts), c.want)
	}
}

func TestSliding_Assign(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		size, slide, offset time.Duration
		ts                  int64
		want                []Window
	}{
		{10 * ms, 5 * ms, 0, 0, []Window{{0, 10}, {-5, 5}}},
		{10 * ms, 5 * ms, 0, 7, []Window{{5, 15}, {0, 10}}},
		{10 * ms, 5 * ms, 0, -1, []Window{{-5, 5}, {-10, 0}}},
		{10 * ms, 3 * ms, 0, 0, []Window{{0, 10}, {-3, 7}, {-6, 4}, {-9, 1}}},
		{10 * ms, 3 * ms, 0, 2, []Window{{0, 10}, {-3, 7}, {-6, 4}}},
		{10 * ms, 10 * ms, 0, 4, []Window{{0, 10}}}, // tumbling
		{10 * ms, 5 * ms, 2 * ms, 1, []Window{{-3, 7}, {-8, 2}}},
		{5 * ms, 10 * ms, 0, 3, []Window{{0, 5}}},
		{5 * ms, 10 * ms, 0, 7, nil}, // between sampled windows
	} {
		a := Sliding(c.size, c.slide).WithOffset(c.offset)
		wantWindows(t, mustAssign(t, a, c.ts), c.want...)
	}
}

func TestSliding_MaxWindows(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		size, slide time.Duration
		want        int
	}{{10 * ms, 5 * ms, 2}, {10 * ms, 3 * ms, 4}, {10 * ms, 10 * ms, 1}, {5 * ms, 10 * ms, 1}} {
		if got := Sliding(c.size, c.slide).MaxWindows(); got != c.want {
			t.Errorf("Sliding(%v, %v).MaxWindows() = %d, want %d", c.size, c.slide, got, c.want)
		}
	}
}

// Checklist Windows 2: a single event is a point session [ts, ts+gap).
func TestSession_Assign_pointSession(t *testing.T) {
	a := Session(5 * time.Millisecond)
	wantWindows(t, mustAssign(t, a, 3), Window{3, 8})
	wantWindows(t, mustAssign(t, a, -3), Window{-3, 2})
	wantWindows(t, mustAssign(t, a, math.MaxInt64-2), Window{math.MaxInt64 - 2, math.MaxInt64})
}

// Checklist Windows 2: dynamic gaps come from the record.
func TestDynamicSession_AssignElement(t *testing.T) {
	a := DynamicSession(func(gapMs int) time.Duration { return time.Duration(gapMs) * time.Millisecond })
	got, err := a.AssignElement(7, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantWindows(t, got, Window{100, 107})
	for _, bad := range []int{0, -1} {
		got, err := a.AssignElement(bad, 100, got)
		if !errors.Is(err, ErrInvalidAssigner) || !strings.Contains(err.Error(), "dynamic gap") {
			t.Fatalf("gap %d: err = %v, want ErrInvalidAssigner naming the gap", bad, err)
		}
		wantWindows(t, got, Window{100, 107}) // dst unchanged
	}
	sub := DynamicSession(func(int) time.Duration { return 1500 * time.Microsecond })
	if _, err := sub.AssignElement(0, 0, nil); !errors.Is(err, ErrInvalidAssigner) {
		t.Fatalf("sub-millisecond gap: err = %v", err)
	}
}

func TestGlobal_Assign(t *testing.T) {
	wantWindows(t, mustAssign(t, Global(), -42), GlobalWindow)
}

func TestByTimestamp(t *testing.T) {
	a := ByTimestamp[string](Tumbling(10 * time.Millisecond))
	got, err := a.AssignElement("x", 15, nil)
	if err != nil || !a.IsEventTime() || a.Merging() {
		t.Fatalf("err %v, event time %v, merging %v", err, a.IsEventTime(), a.Merging())
	}
	wantWindows(t, got, Window{10, 20})
}

// properties are the flags and default trigger of an assigner.
type properties interface {
	IsEventTime() bool
	Merging() bool
	DefaultTrigger() Trigger
}

// Checklist Windows 4 needs the processing-time variants; here their flags.
func TestAssigners_properties(t *testing.T) {
	ms := time.Millisecond
	gap := func(int) time.Duration { return ms }
	for _, c := range []struct {
		name               string
		a                  properties
		eventTime, merging bool
		trigger            Trigger
	}{
		{"Tumbling", Tumbling(ms), true, false, EventTimeTrigger{}},
		{"TumblingProcessing", TumblingProcessing(ms), false, false, ProcessingTimeTrigger{}},
		{"Sliding", Sliding(2*ms, ms), true, false, EventTimeTrigger{}},
		{"SlidingProcessing", SlidingProcessing(2*ms, ms), false, false, ProcessingTimeTrigger{}},
		{"Session", Session(ms), true, true, EventTimeTrigger{}},
		{"SessionProcessing", SessionProcessing(ms), false, true, ProcessingTimeTrigger{}},
		{"DynamicSession", DynamicSession(gap), true, true, EventTimeTrigger{}},
		{"DynamicSessionProcessing", DynamicSessionProcessing(gap), false, true, ProcessingTimeTrigger{}},
		{"Global", Global(), false, false, NeverTrigger{}},
		{"GlobalWithEndOfStreamTrigger", GlobalWithEndOfStreamTrigger(), false, false, EndOfStreamTrigger{}},
	} {
		if c.a.IsEventTime() != c.eventTime || c.a.Merging() != c.merging || c.a.DefaultTrigger() != c.trigger {
			t.Errorf("%s: event time %v, merging %v, trigger %T", c.name, c.a.IsEventTime(), c.a.Merging(), c.a.DefaultTrigger())
		}
	}
}

func TestConstructors_invalid(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name string
		err  error
		arg  string // the argument the message must name
	}{
		{"size 0", Tumbling(0).Validate(), "size"},
		{"size <0", Tumbling(-ms).Validate(), "size"},
		{"offset = size", Tumbling(10 * ms).WithOffset(10 * ms).Validate(), "offset"},
		{"offset = -size", Tumbling(10 * ms).WithOffset(-10 * ms).Validate(), "offset"},
		{"fractional size", Tumbling(1500 * time.Microsecond).Validate(), "size"},
		{"fractional offset", TumblingProcessing(ms).WithOffset(time.Microsecond).Validate(), "offset"},
		{"sliding size", Sliding(0, ms).Validate(), "size"},
		{"sliding slide", Sliding(ms, 0).Validate(), "slide"},
		{"sliding offset", SlidingProcessing(10*ms, 5*ms).WithOffset(5 * ms).Validate(), "offset"},
		{"gap 0", Session(0).Validate(), "gap"},
		{"gap fractional", SessionProcessing(time.Microsecond).Validate(), "gap"},
		{"nil gap function", DynamicSession[int](nil).Validate(), "gap"},
		{"zero tumbling", TumblingAssigner{}.Validate(), "zero TumblingAssigner"},
		{"zero sliding", SlidingAssigner{}.Validate(), "zero SlidingAssigner"},
		{"zero session", SessionAssigner{}.Validate(), "zero SessionAssigner"},
		{"zero adapted", ByTimestamp[int](TumblingAssigner{}).(interface{ Validate() error }).Validate(), "zero TumblingAssigner"},
	} {
		if !errors.Is(c.err, ErrInvalidAssigner) || !strings.Contains(c.err.Error(), c.arg) {
			t.Errorf("%s: err = %v, want ErrInvalidAssigner naming %s", c.name, c.err, c.arg)
		}
	}
}

// The hot path reuses the operator's buffer.
func TestAssign_noAllocations(t *testing.T) {
	ms := time.Millisecond
	for _, a := range []Assigner{
		Tumbling(10 * ms), Sliding(10*ms, 2*ms), Session(ms), Global(),
	} {
		buf := make([]Window, 0, 8)
		ts := int64(0)
		if n := testing.AllocsPerRun(100, func() { ts++; buf = a.Assign(ts, buf[:0]) }); n != 0 {
			t.Errorf("%v: %v allocations per Assign", a, n)
		}
	}
}
