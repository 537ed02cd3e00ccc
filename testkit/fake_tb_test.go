package testkit

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fakeTB records failures instead of failing the test it wraps: Fatalf
// records and ends its goroutine (run code under it with failure), Errorf
// records, Logf records, Cleanup collects the functions for runCleanups. The kit must
// call no other method that can fail the test.
type fakeTB struct {
	testing.TB // the real test, for the methods not overridden

	mu       sync.Mutex
	fatals   []string
	errors   []string
	logs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Logf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.fatals)+len(f.errors) > 0
}

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// runCleanups runs the collected cleanups, last first, on a goroutine of
// their own so that a Fatalf in one ends only it.
func (f *fakeTB) runCleanups() {
	f.mu.Lock()
	fns := f.cleanups
	f.cleanups = nil
	f.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		done := make(chan struct{})
		go func() {
			defer close(done)
			fns[i]()
		}()
		<-done
	}
}

// failure runs fn on its own goroutine with a fakeTB and returns the
// message of the Fatalf that ended it; the test fails if fn returned.
func failure(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	fake := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(fake)
	}()
	<-done
	if len(fake.fatals) == 0 {
		t.Fatalf("expected a failure, got none")
	}
	return fake.fatals[0]
}

// kitFailure is failure for the helpers of a Kit and of its probes and
// recorder, which fail through the kit's test.
func kitFailure(t *testing.T, k *Kit, fn func()) string {
	t.Helper()
	saved := k.t
	defer func() { k.t = saved }()
	return failure(t, func(tb testing.TB) {
		k.t = tb
		fn()
	})
}

// wantContains fails the test unless got contains every part of want.
func wantContains(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("message %q does not contain %q", got, w)
		}
	}
}
