package watermark

import (
	"math"
	"testing"
	"time"
)

func TestIdleDetector(t *testing.T) {
	// op: 'r' a record at now, 'c' a check at now.
	type step struct {
		op     byte
		now    int64
		change bool // OnRecord's activated, or Check's idled
		idle   bool // Idle() after the step
	}
	tests := []struct {
		name    string
		timeout time.Duration
		start   int64
		steps   []step
	}{
		{"goes idle at the timeout, active on data", time.Second, 0, []step{
			{'r', 100, false, false},
			{'c', 1099, false, false},
			{'c', 1100, true, true},  // exactly the timeout without data
			{'c', 5000, false, true}, // reported once
			{'r', 5001, true, false},
			{'c', 6000, false, false},
			{'c', 6001, true, true},
		}},
		{"records keep it active", time.Second, 0, []step{
			{'r', 900, false, false}, {'r', 1800, false, false}, {'c', 2700, false, false},
			{'r', 2700, false, false}, {'c', 3699, false, false},
		}},
		{"no record at all: idle a timeout after the start", time.Second, 500, []step{
			{'c', 1499, false, false}, {'c', 1500, true, true},
		}},
		{"never idle without a timeout", 0, 0, []step{
			{'c', math.MaxInt64, false, false},
		}},
		{"clock going backwards is not idleness", time.Second, 10_000, []step{
			{'c', 0, false, false}, {'c', math.MinInt64, false, false},
		}},
		{"no overflow across the whole range", time.Second, math.MinInt64, []step{
			{'c', math.MaxInt64, true, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewIdleDetector(tt.timeout, tt.start)
			for i, s := range tt.steps {
				var got bool
				if s.op == 'r' {
					got = d.OnRecord(s.now)
				} else {
					got = d.Check(s.now)
				}
				if got != s.change || d.Idle() != s.idle {
					t.Fatalf("step %d %c@%d: change %v idle %v, want %v %v", i, s.op, s.now, got, d.Idle(), s.change, s.idle)
				}
			}
		})
	}
}

func TestIdleDetector_Deadline(t *testing.T) {
	d := NewIdleDetector(time.Second, 0)
	if at, ok := d.Deadline(); !ok || at != 1000 {
		t.Fatalf("Deadline() = %d, %v; want 1000, true", at, ok)
	}
	d.OnRecord(400)
	if at, ok := d.Deadline(); !ok || at != 1400 {
		t.Fatalf("after a record: Deadline() = %d, %v; want 1400, true", at, ok)
	}
	d.Check(1400)
	if _, ok := d.Deadline(); ok {
		t.Fatal("idle detector still has a deadline")
	}
	if _, ok := NewIdleDetector(0, 0).Deadline(); ok {
		t.Fatal("detector without timeout has a deadline")
	}
	if at, _ := NewIdleDetector(time.Second, math.MaxInt64-10).Deadline(); at != math.MaxInt64 {
		t.Fatalf("Deadline() = %d, want saturated at MaxInt64", at)
	}
}
