package cluster

import (
	"errors"
	"testing"
	"time"
)

func TestFirstAttempt_epochsDoNotShareAttempts(t *testing.T) {
	if got := firstAttempt(1); got != 1 {
		t.Fatalf("epoch 1 starts at attempt %d, want 1", got)
	}
	for e := uint64(1); e < 40000; e++ {
		a, b := firstAttempt(e), firstAttempt(e+1)
		if b <= 0 || b > 1<<30 {
			t.Fatalf("epoch %d starts at attempt %d, out of range", e+1, b)
		}
		if b > a && b-a < attemptsPerEpoch {
			t.Fatalf("epochs %d and %d start %d apart, want at least %d", e, e+1, b-a, attemptsPerEpoch)
		}
	}
}

func TestLease_guard(t *testing.T) {
	l := &lease{epoch: 1, until: time.Now().Add(time.Hour), margin: time.Minute}
	if err := l.guard(); err != nil {
		t.Fatalf("a fresh lease refused: %v", err)
	}
	l.renewed(2, time.Now().Add(30*time.Second)) // less than the margin left
	if err := l.guard(); !errors.Is(err, errLeaseLost) {
		t.Fatalf("a lease within its margin of running out: %v; want errLeaseLost", err)
	}
	l.renewed(3, time.Now().Add(time.Hour))
	if !l.lose() || l.lose() {
		t.Fatal("lose reports the lease held only the first time")
	}
	if err := l.guard(); !errors.Is(err, errLeaseLost) {
		t.Fatalf("a lost lease: %v; want errLeaseLost", err)
	}
}

func TestLeaseTiming_validate(t *testing.T) {
	if err := DefaultLeaseTiming().validate(); err != nil {
		t.Fatal(err)
	}
	for _, lt := range []LeaseTiming{
		{Lease: time.Second, Renew: time.Second, Margin: 100 * time.Millisecond},
		{Lease: time.Second, Renew: 100 * time.Millisecond, Margin: time.Second},
		{Lease: time.Second, Renew: 600 * time.Millisecond, Margin: 500 * time.Millisecond},
	} {
		if err := lt.validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v; want ErrConfig", lt, err)
		}
	}
	if d := (LeaseTiming{Lease: 6 * time.Second}).withDefaults(); d.Renew != time.Second || d.Margin != 2*time.Second {
		t.Errorf("defaults from a 6 s lease: %+v", d)
	}
}
