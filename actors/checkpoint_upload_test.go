package actors

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/persistence"
)

// fakeSource is a state that records its closes.
type fakeSource struct {
	persistence.BytesSource
	closes int
}

func (s *fakeSource) Bytes(context.Context) ([]byte, error) { return bytes.Clone(s.BytesSource), nil }
func (s *fakeSource) Close() error                          { s.closes++; return nil }

// legacyStore offers only WriteState; it records whether the source was
// closed when it was called.
type legacyStore struct {
	CheckpointStore
	src          *fakeSource
	closedBefore bool
}

func (s *legacyStore) WriteState(id int64, task string, data []byte) (string, error) {
	s.closedBefore = s.src.closes > 0
	return s.CheckpointStore.WriteState(id, task, data)
}

// failingStore fails every state write.
type failingStore struct{ *persistence.MemStore }

func (failingStore) WriteStateFrom(context.Context, int64, string, persistence.StateSource) (string, error) {
	return "", errors.New("disk full")
}

// writeState closes the state whatever happens; a store that takes only
// bytes gets them after the close.
func TestWriteState_closesTheState(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name    string
		ctx     context.Context
		store   func(src *fakeSource) CheckpointStore
		wantErr bool
	}{
		{"streamed", context.Background(), func(*fakeSource) CheckpointStore { return persistence.NewMemStore("test", 1) }, false},
		{"failed", context.Background(), func(*fakeSource) CheckpointStore { return failingStore{persistence.NewMemStore("test", 1)} }, true},
		{"legacy", context.Background(), func(src *fakeSource) CheckpointStore {
			return &legacyStore{CheckpointStore: persistence.NewMemStore("test", 1), src: src}
		}, false},
		{"cancelled", cancelled, func(*fakeSource) CheckpointStore {
			dir, err := persistence.OpenDirStore(t.TempDir(), 1)
			if err != nil {
				t.Fatal(err)
			}
			return dir
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{BytesSource: []byte("state")}
			store := tt.store(src)
			_, size, err := writeState(tt.ctx, store, 1, "t", src)
			if (err != nil) != tt.wantErr {
				t.Errorf("error %v, want one: %v", err, tt.wantErr)
			}
			if err == nil && size != int64(len("state")) {
				t.Errorf("size %d, want %d (the state's bytes)", size, len("state"))
			}
			if src.closes == 0 {
				t.Error("the state was not closed")
			}
			if l, ok := store.(*legacyStore); ok && !l.closedBefore {
				t.Error("the state was still open when the store took its bytes")
			}
		})
	}
}

// blockUntilDone is an upload that waits for its context and reports
// the cause.
func blockUntilDone(causes chan<- error) func(context.Context, func()) {
	return func(ctx context.Context, _ func()) {
		<-ctx.Done()
		causes <- context.Cause(ctx)
	}
}

func recv(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the upload did not end")
		return nil
	}
}

func TestUploads_timeout(t *testing.T) {
	var u uploads
	causes := make(chan error, 1)
	u.start(1, false, time.Millisecond, blockUntilDone(causes))
	if err := recv(t, causes); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cause %v, want the timeout", err)
	}
	u.stop()
	u.wg.Wait() // stop does not wait for the goroutines: their done may still run
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.running) != 0 {
		t.Errorf("%d uploads left", len(u.running))
	}
}

// A completed checkpoint ends the writes of older checkpoints, not those
// of savepoints nor of newer checkpoints.
func TestUploads_subsume(t *testing.T) {
	var u uploads
	causes := map[int64]chan error{}
	for id, savepoint := range map[int64]bool{1: false, 2: true, 4: false} {
		causes[id] = make(chan error, 1)
		u.start(id, savepoint, time.Hour, blockUntilDone(causes[id]))
	}
	u.subsume(3)
	if err := recv(t, causes[1]); !errors.Is(err, barrier.ErrSubsumed) {
		t.Errorf("checkpoint 1: cause %v, want subsumed", err)
	}
	u.stop()
	for _, id := range []int64{2, 4} {
		if err := recv(t, causes[id]); !errors.Is(err, errSubtaskStopped) {
			t.Errorf("checkpoint %d: cause %v, want the stop", id, err)
		}
	}
}

// stop waits for the uploads that still read the state; later ones do
// not start.
func TestUploads_stop(t *testing.T) {
	var u uploads
	ended := false
	u.start(1, false, 0, func(ctx context.Context, _ func()) {
		<-ctx.Done()
		ended = true // read after stop: stop waits for this goroutine, which never released its state
	})
	u.stop()
	if !ended {
		t.Error("stop returned before the upload ended")
	}
	if u.start(2, false, 0, func(context.Context, func()) { t.Error("an upload ran after stop") }) {
		t.Error("start after stop reported a start")
	}
	u.stop()
}

// stop does not wait for a store call made after the state was released
// (a store without streaming, which cannot be cancelled): the engine
// owns it, and waits for it on Engine.Close.
func TestUploads_stop_doesNotWaitForTheStoreCall(t *testing.T) {
	var owner storeWork
	u := uploads{owner: &owner, task: "1-0"}
	inStore, release := make(chan struct{}), make(chan struct{})
	u.start(1, false, 0, func(_ context.Context, released func()) {
		released()
		close(inStore)
		<-release // a store call that ignores the cancel
	})
	<-inStore
	if !returnsWithin(20*time.Second, u.stop) {
		t.Fatal("stop waited for a store call that no longer read the state")
	}
	if owner.wait(time.Millisecond, QuietLogger()) {
		t.Fatal("the engine's writers do not count the store call")
	}
	close(release)
	if !owner.wait(20*time.Second, QuietLogger()) {
		t.Fatal("the store call's goroutine did not return")
	}
}

// An aborted checkpoint's write ends, with the abort as its cause; the
// others go on.
func TestUploads_abort(t *testing.T) {
	var u uploads
	aborted, other := make(chan error, 1), make(chan error, 1)
	u.start(1, false, 0, blockUntilDone(aborted))
	u.start(2, false, 0, blockUntilDone(other))
	u.abort(1)
	if err := recv(t, aborted); !errors.Is(err, errCheckpointAborted) {
		t.Errorf("cause %v, want the abort", err)
	}
	select {
	case err := <-other:
		t.Errorf("checkpoint 2's write ended with %v: only 1 was aborted", err)
	default:
	}
	u.abort(3) // none running: nothing to do
	u.stop()
	if err := recv(t, other); !errors.Is(err, errSubtaskStopped) {
		t.Errorf("cause %v, want the stop", err)
	}
	u.wg.Wait()
}
