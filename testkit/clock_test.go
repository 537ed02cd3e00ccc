package testkit

import (
	"slices"
	"testing"
	"time"
)

var (
	_ Clock = (*ManualClock)(nil)
	_ Clock = RealClock()
	_ Timer = (*time.Timer)(nil)
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestManualClock_Advance(t *testing.T) {
	c := NewManualClock(epoch)
	var fired []string
	at := func(name string) func() {
		return func() { fired = append(fired, name+"@"+c.Now().Sub(epoch).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(time.Second, at("a"))
	c.AfterFunc(time.Second, at("b")) // same instant: after a
	c.AfterFunc(time.Second, func() {
		c.AfterFunc(500*time.Millisecond, at("nested")) // due in this Advance
		c.AfterFunc(5*time.Second, at("late"))
	})
	if n := c.Pending(); n != 4 {
		t.Errorf("Pending() = %d, want 4", n)
	}

	c.Advance(2 * time.Second)
	if want := []string{"a@1s", "b@1s", "nested@1.5s"}; !slices.Equal(fired, want) {
		t.Errorf("fired %v, want %v", fired, want)
	}
	if got := c.Now(); !got.Equal(epoch.Add(2 * time.Second)) {
		t.Errorf("Now() = %v after Advance(2s)", got)
	}
	if n := c.Pending(); n != 2 {
		t.Errorf("Pending() = %d, want 2 (c, late)", n)
	}

	fired = nil
	c.Advance(10 * time.Second)
	if want := []string{"c@3s", "late@6s"}; !slices.Equal(fired, want) {
		t.Errorf("fired %v, want %v", fired, want)
	}
	fired = nil
	c.Advance(time.Hour) // each timer fires once
	if len(fired) != 0 || c.Pending() != 0 {
		t.Errorf("fired again: %v; Pending() = %d", fired, c.Pending())
	}
}

func TestManualClock_Stop(t *testing.T) {
	c := NewManualClock(epoch)
	fired := 0
	stopped := c.AfterFunc(time.Second, func() { fired++ })
	kept := c.AfterFunc(time.Second, func() { fired++ })
	if !stopped.Stop() {
		t.Error("Stop of a pending timer reported false")
	}
	if stopped.Stop() {
		t.Error("second Stop reported true")
	}
	c.Advance(time.Second)
	if fired != 1 {
		t.Errorf("fired %d timers, want 1", fired)
	}
	if kept.Stop() {
		t.Error("Stop of a fired timer reported true")
	}
}

func TestManualClock_dueAtOnce(t *testing.T) {
	c := NewManualClock(epoch)
	fired := false
	c.AfterFunc(-time.Second, func() { fired = true })
	if fired {
		t.Fatal("fired inside AfterFunc")
	}
	c.Advance(0)
	if !fired || !c.Now().Equal(epoch) {
		t.Errorf("fired %v at %v, want at once at the epoch", fired, c.Now())
	}
}

func TestManualClock_Advance_negativePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Advance(-1) did not panic")
		}
	}()
	NewManualClock(epoch).Advance(-1)
}

func TestRealClock(t *testing.T) {
	c := RealClock()
	if d := time.Since(c.Now()); d < 0 || d > time.Second {
		t.Errorf("Now() is %v away from time.Now", d)
	}
	fired := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(fired) })
	<-fired
	if !c.AfterFunc(time.Hour, func() {}).Stop() {
		t.Error("Stop of a pending real timer reported false")
	}
}
