package testkit

import (
	"os"
	"testing"
	"time"
)

func TestParseTimeFactor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{
		{"", 1}, {"2", 2}, {"1.5", 1.5}, {"1", 1},
		{"0.5", 1}, {"-3", 1}, {"fast", 1}, {"NaN", 1}, {"+Inf", 1},
	} {
		if got := parseTimeFactor(tc.in); got != tc.want {
			t.Errorf("parseTimeFactor(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestDilated(t *testing.T) {
	f := TimeFactor()
	if want := parseTimeFactor(os.Getenv(TimeFactorEnv)); f != want {
		t.Fatalf("TimeFactor() = %v, want %v", f, want)
	}
	if got, want := Dilated(time.Second), time.Duration(f*float64(time.Second)); got != want {
		t.Errorf("Dilated(1s) = %v, want %v", got, want)
	}
	if got, want := DefaultTimeout(), Dilated(3*time.Second); got != want {
		t.Errorf("DefaultTimeout() = %v, want %v", got, want)
	}
}
