package testkit

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestEventually(t *testing.T) {
	var ready atomic.Bool
	time.AfterFunc(10*time.Millisecond, func() { ready.Store(true) })
	Eventually(t, time.Second, ready.Load)
}

func TestEventually_fails(t *testing.T) {
	for _, tc := range []struct {
		name       string
		msgAndArgs []any
		want       string
	}{
		{"no message", nil, fmt.Sprintf("condition not met within %v: condition", Dilated(10*time.Millisecond))},
		{"format", []any{"queue %s empty", "q"}, ": queue q empty"},
		{"values", []any{42, "x"}, ": 42 x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := failure(t, func(tb testing.TB) {
				Eventually(tb, 10*time.Millisecond, func() bool { return false }, tc.msgAndArgs...)
			})
			wantContains(t, msg, tc.want)
		})
	}
}
