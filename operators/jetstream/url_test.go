package jetstream

import (
	"errors"
	"strings"
	"testing"
)

// A URL's parameters come back from String, and a bad late-commit value is
// an ErrConfig naming it.
func TestParseURL_lateCommit(t *testing.T) {
	for _, l := range []LateCommit{FailLateCommit, RepublishLateCommit, SkipLateCommit} {
		raw := "nats://127.0.0.1:4222/OUT?subject=out&late-commit=" + l.String()
		ep, err := ParseURL(raw)
		if err != nil || ep.LateCommit != l {
			t.Fatalf("%s: %+v, %v; want late commit %v", raw, ep, err, l)
		}
		again, err := ParseURL(ep.String())
		if err != nil || again.LateCommit != l {
			t.Errorf("%s: round trip through %s gave %+v, %v", raw, ep.String(), again, err)
		}
	}
	_, err := ParseURL("nats://127.0.0.1:4222/OUT?late-commit=never")
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `"never"`) {
		t.Errorf("late-commit=never: %v, want ErrConfig naming the value", err)
	}
}
