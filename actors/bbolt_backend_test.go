package actors

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// runCountedBolt is runCounted with keyed state in the bbolt backend
// under dir: the committed output must be exactly once all the same.
func runCountedBolt(t *testing.T, dir string, faults operators.FaultInjector, job *atomic.Pointer[Job]) (*Engine, *Job) {
	t.Helper()
	const n, keys = 40000, 61
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Restart = FixedDelay(3, time.Millisecond)
		c.Faults = faults
		c.BatchSize = 64
		c.StateBackend, c.StateDir = operators.StateBackendBolt, dir
	})
	p, sink := countPipeline(n, keys, 10000)
	j := submit(t, e, p)
	job.Store(j)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := j.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, sink.Values(), n, keys)
	return e, j
}

func TestBoltBackend_failureInMap_exactlyOnce(t *testing.T) {
	dir := t.TempDir()
	fault := &faultAfterCheckpoint{op: "count", after: 5000}
	e, j := runCountedBolt(t, dir, fault, &fault.job)
	if !fault.fired.Load() || j.Restarts() != 1 {
		t.Fatalf("fault fired %v, restarts %d: want a failure after a checkpoint and one restart", fault.fired.Load(), j.Restarts())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wantNoStateFiles(t, dir)
}

// A restore that fails is retried from the same checkpoint; each
// attempt has its own file.
func TestBoltBackend_failureInRestore_exactlyOnce(t *testing.T) {
	dir := t.TempDir()
	rec := &faultAfterCheckpoint{op: "count", after: 4000}
	res := &pointFault{point: operators.FaultRestore, op: "count", attempt: 2}
	var job atomic.Pointer[Job]
	e, j := runCountedBolt(t, dir, faultPair{rec, res, &job}, &job)
	if !rec.fired.Load() || !res.fired.Load() || j.Restarts() != 2 {
		t.Fatalf("record fault %v, restore fault %v, restarts %d; want both and 2 restarts", rec.fired.Load(), res.fired.Load(), j.Restarts())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wantNoStateFiles(t, dir)
}

// wantNoStateFiles fails t if state files are left under dir once the
// subtasks have stopped (which they do shortly after the engine closes).
func wantNoStateFiles(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, err := filepath.Glob(filepath.Join(dir, "*", "*.db"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state files left: %v", files)
		}
		time.Sleep(10 * time.Millisecond) // polling for the actors to stop
	}
}

func TestConfig_validate_stateBackend(t *testing.T) {
	tests := []struct {
		name, backend, dir string
		ok                 bool
	}{
		{"default", "", "", true},
		{"heap", operators.StateBackendHeap, "", true},
		{"bbolt", operators.StateBackendBolt, os.TempDir(), true},
		{"bboltNoDir", operators.StateBackendBolt, "", false},
		{"unknown", "rocksdb", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.StateBackend, cfg.StateDir = tt.backend, tt.dir
			err := cfg.validate()
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("validate: %v, want ok %v", err, tt.ok)
			}
		})
	}
}
