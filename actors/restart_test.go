package actors

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// A job whose failures outnumber its strategy's attempts fails with the
// cause of its last failure, not its first.
func TestJob_restartsExhausted_failsWithLastCause(t *testing.T) {
	e := newTestEngine(t, func(c *Config) { c.Restart = FixedDelay(2, 0) })
	p := operators.NewPipeline("exhaust")
	var failures atomic.Int64
	errAttempt := errors.New("attempt failed")
	m := operators.Process(operators.FromSlice(p, seq(10)), func(v int, _ int64, _ operators.Collector[int]) error {
		if v == 5 {
			return fmt.Errorf("%w: failure %d", errAttempt, failures.Add(1))
		}
		return nil
	})
	operators.Discard(m)
	j := submit(t, e, p)
	err := waitJob(t, j)
	if !errors.Is(err, errAttempt) || !strings.HasSuffix(err.Error(), "failure 3") {
		t.Fatalf("err %v; want the third failure's", err)
	}
	if j.Restarts() != 2 || j.State() != JobFailed {
		t.Fatalf("restarts %d, state %v; want 2 and failed", j.Restarts(), j.State())
	}
}
