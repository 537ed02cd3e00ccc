package actors

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// A job whose failures outnumber its strategy's attempts fails with the
// cause of its last failure, not its first.
func TestJob_restartsExhausted_failsWithLastCause(t *testing.T) {
	var restarts restartLog
	e := newTestEngine(t, func(c *Config) { c.Restart, c.OnRestart = FixedDelay(2, 0), restarts.add })
	p := operators.NewPipeline("exhaust")
	var failures atomic.Int64
	errAttempt := errors.New("attempt failed")
	m := operators.Process(operators.FromSlice(p, seq(10)), func(_ *operators.ProcessContext, v int, _ operators.Collector[int]) error {
		if v == 5 {
			return fmt.Errorf("%w: failure %d", errAttempt, failures.Add(1))
		}
		return nil
	})
	operators.Discard(m)
	submitted := time.Now()
	j := submit(t, e, p)
	err := waitJob(t, j)
	if !errors.Is(err, errAttempt) || !strings.HasSuffix(err.Error(), "failure 3") {
		t.Fatalf("err %v; want the third failure's", err)
	}
	if j.Restarts() != 2 || j.State() != JobFailed {
		t.Fatalf("restarts %d, state %v; want 2 and failed", j.Restarts(), j.State())
	}
	if since := j.RunningSince(); since.Before(submitted) || since.After(time.Now()) {
		t.Errorf("RunningSince %v: want when the last attempt started, after the submission at %v", since, submitted)
	}
	got := restarts.get()
	for i, r := range got {
		if r.Job != "exhaust" || r.Run != j.RunID() || r.Restart != i+1 || r.Attempt != i+2 ||
			!strings.HasSuffix(r.Cause.Error(), fmt.Sprintf("failure %d", i+1)) || r.Checkpoint != 0 || r.CheckpointPath != "" {
			t.Errorf("OnRestart #%d: %+v; want restart %d after failure %d, no checkpoint", i+1, r, i+1, i+1)
		}
	}
	if len(got) != 2 {
		t.Errorf("OnRestart called %d times, want 2", len(got))
	}
}

// restartLog records the calls of Config.OnRestart.
type restartLog struct {
	mu    sync.Mutex
	infos []RestartInfo
}

func (l *restartLog) add(r RestartInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.infos = append(l.infos, r)
}

func (l *restartLog) get() []RestartInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]RestartInfo(nil), l.infos...)
}

// OnRestart names the checkpoint a restart restores: the newest complete
// one, so none older than what Job.LatestCheckpoint reports by then (a
// commit still on its way may make the store's newer).
func TestConfig_OnRestart_namesCheckpoint(t *testing.T) {
	const n, keys = 4000, 13
	var restarts restartLog
	fault := &faultAfterCheckpoint{op: "count", after: n / 2}
	var latest atomic.Int64 // Job.LatestCheckpoint at the restart
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Restart = FixedDelay(1, time.Millisecond)
		c.Faults = fault
		c.OnRestart = func(r RestartInfo) {
			if cp, ok := fault.job.Load().LatestCheckpoint(); ok {
				latest.Store(cp.ID)
			}
			restarts.add(r)
		}
	})
	p, sink := countPipeline(n, keys, 4000)
	j := submit(t, e, p)
	fault.job.Store(j)
	if err := waitJob(t, j); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, sink.Values(), n, keys)
	got := restarts.get()
	if len(got) != 1 {
		t.Fatalf("OnRestart called %d times, want once", len(got))
	}
	var pe *PanicError
	if r := got[0]; r.Restart != 1 || r.Attempt != 2 || !errors.As(r.Cause, &pe) ||
		r.Checkpoint < max(1, latest.Load()) || r.CheckpointPath == "" {
		t.Fatalf("OnRestart: %+v; want restart 1 after the panic, from checkpoint %d or newer", r, latest.Load())
	}
}
