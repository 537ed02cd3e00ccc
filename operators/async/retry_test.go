package async

import (
	"errors"
	"math"
	"testing"
	"time"
)

var errDown = errors.New("down")

type outcome struct {
	attempt int
	err     error
	empty   bool
}

type decision struct {
	delay time.Duration
	retry bool
}

// checked returns b and what its Validate says.
func checked(b *Backoff) (*Backoff, error) { return b, b.Validate() }

func mustBackoff(t testing.TB, build func() (*Backoff, error)) *Backoff {
	t.Helper()
	b, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBackoff_Next(t *testing.T) {
	ms := time.Millisecond
	notDown := func(err error) bool { return !errors.Is(err, errDown) }
	tests := []struct {
		name  string
		b     func() (*Backoff, error)
		cases map[outcome]decision
	}{
		{"no retry", func() (*Backoff, error) { return NoRetry(), nil }, map[outcome]decision{
			{1, errDown, false}: {}, {1, nil, true}: {}}},
		{"fixed retries any error by default", func() (*Backoff, error) { return checked(FixedDelay(3, 10*ms)) },
			map[outcome]decision{
				{1, errDown, false}: {10 * ms, true}, {2, errDown, false}: {10 * ms, true},
				{3, errDown, false}: {}, {1, nil, true}: {}, {1, nil, false}: {}, {0, errDown, false}: {}}},
		{"fixed on empty only", func() (*Backoff, error) { return checked(FixedDelay(2, 10*ms, RetryOnEmptyResult())) },
			map[outcome]decision{{1, nil, true}: {10 * ms, true}, {2, nil, true}: {},
				{1, errDown, false}: {}, {1, nil, false}: {}}},
		{"fixed on chosen errors", func() (*Backoff, error) { return checked(FixedDelay(2, ms, RetryOnError(notDown))) },
			map[outcome]decision{{1, errDown, false}: {}, {1, errors.New("busy"), false}: {ms, true}}},
		{"exponential capped", func() (*Backoff, error) { return checked(ExponentialBackoff(10, 10*ms, 100*ms, 3)) },
			map[outcome]decision{
				{1, errDown, false}: {10 * ms, true}, {2, errDown, false}: {30 * ms, true},
				{3, errDown, false}: {90 * ms, true}, {4, errDown, false}: {100 * ms, true},
				{9, errDown, false}: {100 * ms, true}, {10, errDown, false}: {}}},
		{"exponential never overflows", func() (*Backoff, error) {
			return checked(ExponentialBackoff(math.MaxInt, time.Second, math.MaxInt64, 1e6))
		}, map[outcome]decision{{1000, errDown, false}: {math.MaxInt64, true}}},
		{"jitter keeps half", func() (*Backoff, error) {
			return checked(ExponentialBackoff(5, 100*ms, time.Second, 2, WithJitter(func() float64 { return 0 })))
		}, map[outcome]decision{{1, errDown, false}: {50 * ms, true}, {2, errDown, false}: {100 * ms, true}}},
		{"jitter clamps", func() (*Backoff, error) {
			return checked(FixedDelay(5, 100*ms, WithJitter(func() float64 { return 7 })))
		}, map[outcome]decision{{1, errDown, false}: {100 * ms, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustBackoff(t, tt.b)
			for o, want := range tt.cases {
				delay, retry := b.Next(o.attempt, o.err, o.empty)
				if (decision{delay, retry}) != want {
					t.Errorf("Next(%d, %v, %v) = %v %v, want %v", o.attempt, o.err, o.empty, delay, retry, want)
				}
			}
		})
	}
}

func TestBackoff_invalid(t *testing.T) {
	tests := map[string]func() (*Backoff, error){
		"zero attempts":      func() (*Backoff, error) { return checked(FixedDelay(0, time.Second)) },
		"negative delay":     func() (*Backoff, error) { return checked(FixedDelay(2, -1)) },
		"nil predicate":      func() (*Backoff, error) { return checked(FixedDelay(2, 0, RetryOnError(nil))) },
		"nil jitter":         func() (*Backoff, error) { return checked(FixedDelay(2, 0, WithJitter(nil))) },
		"nil option":         func() (*Backoff, error) { return checked(FixedDelay(2, 0, nil)) },
		"zero initial":       func() (*Backoff, error) { return checked(ExponentialBackoff(2, 0, time.Second, 2)) },
		"max below initial":  func() (*Backoff, error) { return checked(ExponentialBackoff(2, time.Second, time.Millisecond, 2)) },
		"multiplier below 1": func() (*Backoff, error) { return checked(ExponentialBackoff(2, 1, 2, 0.5)) },
		"multiplier NaN":     func() (*Backoff, error) { return checked(ExponentialBackoff(2, 1, 2, math.NaN())) },
		"multiplier +Inf":    func() (*Backoff, error) { return checked(ExponentialBackoff(2, 1, 2, math.Inf(1))) },
	}
	for name, build := range tests {
		if _, err := build(); !errors.Is(err, ErrRetry) {
			t.Errorf("%s: err = %v, want ErrRetry", name, err)
		}
	}
}

func TestDeadline_Next(t *testing.T) {
	fixed := mustBackoff(t, func() (*Backoff, error) { return checked(FixedDelay(3, 10*time.Millisecond)) })
	tests := []struct {
		name      string
		timeout   time.Duration
		attempt   int
		elapsed   time.Duration
		err       error
		wantDelay time.Duration
		want      Verdict
	}{
		{"success is done", time.Second, 1, 0, nil, 0, Done},
		{"retry fits", time.Second, 1, 0, errDown, 10 * time.Millisecond, Retry},
		{"no timeout always fits", 0, 2, time.Hour, errDown, 10 * time.Millisecond, Retry},
		{"retry would start at the timeout", 30 * time.Millisecond, 1, 20 * time.Millisecond, errDown, 0, TimedOut},
		{"attempts exhausted", time.Second, 3, 0, errDown, 0, Done},
	}
	for _, tt := range tests {
		d := Deadline{Timeout: tt.timeout}
		delay, v := d.Next(fixed, tt.attempt, tt.elapsed, tt.err, false)
		if delay != tt.wantDelay || v != tt.want {
			t.Errorf("%s: got %v %v, want %v %v", tt.name, delay, v, tt.wantDelay, tt.want)
		}
	}
}

func TestVerdict_String(t *testing.T) {
	for v, want := range map[Verdict]string{Done: "done", Retry: "retry", TimedOut: "timed out", 7: "Verdict(7)"} {
		if v.String() != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", v, v.String(), want)
		}
	}
}
