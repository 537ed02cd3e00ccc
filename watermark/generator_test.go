package watermark

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// genStep is one call to a Generator: OnEvent(ts) if event, else
// OnPeriodic; want is the watermark expected to be emitted, or none.
type genStep struct {
	event bool
	ts    int64
	want  int64
	emit  bool
}

func ev(ts int64) genStep         { return genStep{event: true, ts: ts} }
func evEmit(ts, wm int64) genStep { return genStep{event: true, ts: ts, want: wm, emit: true} }
func tick() genStep               { return genStep{} }
func tickEmit(wm int64) genStep   { return genStep{want: wm, emit: true} }
func runGen(t *testing.T, g Generator, steps []genStep) {
	t.Helper()
	for i, s := range steps {
		var wm int64
		var emit bool
		if s.event {
			wm, emit = g.OnEvent(s.ts)
		} else {
			wm, emit = g.OnPeriodic()
		}
		if emit != s.emit || (emit && wm != s.want) {
			t.Fatalf("step %d %+v: got (%d, %v), want (%d, %v)", i, s, wm, emit, s.want, s.emit)
		}
	}
}

func TestBoundedGenerator(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
		steps []genStep
	}{
		{"4s delay, out of order", 4 * time.Second, []genStep{
			tick(), // nothing before the first event
			ev(10_000), tickEmit(5_999),
			ev(8_000), tick(), // late-ish record: max unchanged, nothing new
			ev(12_000), ev(9_000), tickEmit(7_999),
			ev(11_000), tick(),
			ev(20_000), ev(16_500), ev(19_999), tickEmit(15_999),
			tick(), tick(), // never re-emitted
		}},
		{"events never emit", 4 * time.Second, []genStep{
			ev(1_000_000), ev(2_000_000), tickEmit(1_995_999),
		}},
		{"monotonous", 0, []genStep{
			tick(), ev(1), tickEmit(0), ev(5), ev(6), tickEmit(5), ev(6), tick(),
		}},
		{"sub-millisecond delay is dropped", 1500 * time.Microsecond, []genStep{
			ev(100), tickEmit(98),
		}},
		{"timestamps near the minimum saturate", 4 * time.Second, []genStep{
			ev(math.MinInt64), tick(), ev(math.MinInt64 + 4000), tick(),
			ev(math.MinInt64 + 4002), tickEmit(math.MinInt64 + 1),
		}},
		{"end of time", 0, []genStep{
			ev(math.MaxInt64), tickEmit(math.MaxInt64 - 1),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runGen(t, BoundedOutOfOrderness(tt.delay), tt.steps)
		})
	}
}

func TestMonotonous_isZeroDelay(t *testing.T) {
	runGen(t, Monotonous(), []genStep{ev(1000), tickEmit(999), ev(999), tick()})
}

// TestBoundedGenerator_neverDecreases drives random disorder and checks
// that every emission is max − delay − 1 and above the previous one.
func TestBoundedGenerator_neverDecreases(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g := BoundedOutOfOrderness(4 * time.Second)
	maxTs, last := int64(math.MinInt64), MinWatermark
	for i := range 10_000 {
		ts := int64(i*10) - r.Int64N(3000) // up to 3 s of disorder
		maxTs = max(maxTs, ts)
		g.OnEvent(ts)
		if r.IntN(10) > 0 {
			continue
		}
		wm, emit := g.OnPeriodic()
		if want := maxTs - 4001; emit != (want > last) || (emit && wm != want) {
			t.Fatalf("event %d: got (%d, %v), want %d after %d", i, wm, emit, want, last)
		}
		last = max(last, wm)
	}
}

func TestPunctuated(t *testing.T) {
	// A watermark at every multiple of 10, as a source with markers would.
	g := Punctuated(func(ts int64) (int64, bool) { return ts, ts%10 == 0 })
	runGen(t, g, []genStep{
		tick(), ev(5), evEmit(10, 10), ev(7), tick(), evEmit(20, 20),
		ev(15), ev(10), // ok from fn but not above 20: nothing
		evEmit(30, 30), tick(),
	})
}

func TestGenerator_panicsOnBadArguments(t *testing.T) {
	tests := map[string]func(){
		"negative delay":          func() { BoundedOutOfOrderness(-time.Millisecond) },
		"negative strategy delay": func() { ForBoundedOutOfOrderness(-time.Second) },
		"nil punctuator":          func() { Punctuated(nil) },
		"nil strategy punctuator": func() { ForPunctuated(nil) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) { wantPanic(t, ErrInvalidGenerator, f) })
	}
}

// wantPanic checks that f panics with an error wrapping target.
func wantPanic(t testing.TB, target error, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		err, _ := recover().(error)
		if !errors.Is(err, target) {
			t.Fatalf("panic %v, want one wrapping %v", err, target)
		}
	}()
	f()
}
