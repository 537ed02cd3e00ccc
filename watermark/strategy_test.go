package watermark

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStrategy_Validate(t *testing.T) {
	ok := ForMonotonous()
	with := func(f func(*Strategy)) Strategy { s := ok; f(&s); return s }
	tests := []struct {
		name  string
		s     Strategy
		field string // named in the error; "" for valid
	}{
		{"monotonous defaults", ok, ""},
		{"bounded", ForBoundedOutOfOrderness(4 * time.Second), ""},
		{"punctuated", ForPunctuated(func(ts int64) (int64, bool) { return ts, true }), ""},
		{"all set", with(func(s *Strategy) { s.Interval, s.IdleTimeout = time.Millisecond, time.Minute }), ""},
		{"zero value", Strategy{}, "NewGenerator"},
		{"negative interval", with(func(s *Strategy) { s.Interval = -time.Second }), "Interval"},
		{"sub-ms interval", with(func(s *Strategy) { s.Interval = 500 * time.Microsecond }), "Interval"},
		{"negative idle timeout", with(func(s *Strategy) { s.IdleTimeout = -1 }), "IdleTimeout"},
		{"sub-ms idle timeout", with(func(s *Strategy) { s.IdleTimeout = time.Microsecond }), "IdleTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidStrategy) || !strings.Contains(err.Error(), tt.field+" ") {
				t.Fatalf("Validate() = %v, want ErrInvalidStrategy naming %s", err, tt.field)
			}
		})
	}
}

func TestStrategy_PeriodicInterval(t *testing.T) {
	if got := (Strategy{}).PeriodicInterval(); got != 200*time.Millisecond {
		t.Fatalf("default interval %v, want 200ms", got)
	}
	if got := (Strategy{Interval: time.Second}).PeriodicInterval(); got != time.Second {
		t.Fatalf("interval %v, want 1s", got)
	}
}

func TestStrategy_NewGenerator(t *testing.T) {
	for name, s := range map[string]Strategy{
		"bounded":    ForBoundedOutOfOrderness(time.Second),
		"monotonous": ForMonotonous(),
		"punctuated": ForPunctuated(func(ts int64) (int64, bool) { return ts, true }),
	} {
		g := s.NewGenerator()
		g.OnEvent(1000)
		if wm, emit := g.OnPeriodic(); emit && wm > 1000 {
			t.Errorf("%s: watermark %d above the only event", name, wm)
		}
	}
}

func TestStrategy_NewGenerator_perSplit(t *testing.T) {
	s := ForBoundedOutOfOrderness(time.Second)
	a, b := s.NewGenerator(), s.NewGenerator()
	a.OnEvent(10_000)
	if wm, emit := b.OnPeriodic(); emit {
		t.Fatalf("split b emitted %d from split a's event: generators are shared", wm)
	}
	if wm, emit := a.OnPeriodic(); !emit || wm != 8_999 {
		t.Fatalf("split a: (%d, %v), want (8999, true)", wm, emit)
	}
}
