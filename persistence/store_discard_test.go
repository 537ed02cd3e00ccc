package persistence

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// leftover reports what a store still holds of checkpoint id.
func leftover(t *testing.T, s checkpointStore, id int64) []string {
	t.Helper()
	switch s := s.(type) {
	case *DirStore:
		entries, err := os.ReadDir(s.dir(id))
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		left := []string{filepath.Base(s.dir(id)) + "/"}
		for _, e := range entries {
			left = append(left, e.Name())
		}
		return left
	case *MemStore:
		s.mu.Lock()
		defer s.mu.Unlock()
		var left []string
		for task := range s.states[id] {
			left = append(left, task)
		}
		return left
	}
	t.Fatalf("unknown store %T", s)
	return nil
}

// A state written after its checkpoint was discarded — a subtask's write
// that outlived the checkpoint's abort — is refused, and leaves nothing:
// no later discard would come for it.
func TestStore_writeAfterDiscard_leavesNothing(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := s.WriteState(1, "1-0", []byte("in time")); err != nil {
				t.Fatal(err)
			}
			if err := s.Discard(1); err != nil {
				t.Fatal(err)
			}
			for _, task := range []string{"1-1", "1-1-channels"} {
				if _, err := s.WriteState(1, task, []byte("late")); err == nil {
					t.Errorf("the late state of %s was taken", task)
				}
			}
			if left := leftover(t, s, 1); len(left) > 0 {
				t.Fatalf("the discarded checkpoint holds %v", left)
			}
			// Begun again (a run continued past its aborted checkpoint),
			// the ID takes writes again.
			s.(interface{ Begin(int64) }).Begin(1)
			if _, err := s.WriteState(1, "1-0", []byte("again")); err != nil {
				t.Fatalf("a checkpoint ID begun again refuses writes: %v", err)
			}
		})
	}
}

// gatedSource is a state whose encoding waits until the test lets it go
// on: a write under way while its checkpoint is discarded.
type gatedSource struct {
	BytesSource
	started, proceed chan struct{}
}

func (g gatedSource) Encode(ctx context.Context, w io.Writer) error {
	close(g.started)
	<-g.proceed
	return g.BytesSource.Encode(ctx, w)
}

// A write under way when its checkpoint is discarded leaves nothing
// either, whichever finishes first.
func TestStore_writeDuringDiscard_leavesNothing(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			streaming := s.(interface {
				WriteStateFrom(ctx context.Context, id int64, task string, src StateSource) (string, error)
			})
			src := gatedSource{BytesSource: []byte("late"), started: make(chan struct{}), proceed: make(chan struct{})}
			errc := make(chan error, 1)
			go func() {
				_, err := streaming.WriteStateFrom(context.Background(), 1, "1-0", src)
				errc <- err
			}()
			<-src.started
			if err := s.Discard(1); err != nil {
				t.Fatal(err)
			}
			close(src.proceed)
			if err := <-errc; err == nil {
				t.Error("the write of a checkpoint discarded meanwhile was taken")
			}
			if left := leftover(t, s, 1); len(left) > 0 {
				t.Fatalf("the discarded checkpoint holds %v", left)
			}
		})
	}
}

// sizeGatedSource is a state whose Size waits until the test lets it go
// on (a bbolt state scans itself to know its size): a write that has
// passed the store's refusal, and makes no file yet.
type sizeGatedSource struct {
	BytesSource
	started, proceed chan struct{}
}

func (g sizeGatedSource) Size(ctx context.Context) (int64, error) {
	close(g.started)
	<-g.proceed
	return g.BytesSource.Size(ctx)
}

// A write under way when its checkpoint is discarded, and the ID then
// begun again (a new run on the same store continues after its newest
// complete checkpoint, whose successor the earlier run aborted), must
// not land in the new checkpoint: the old write, finishing late, would
// replace the state the new checkpoint's subtask wrote under the same
// handle, and the new checkpoint would restore another run's state.
// The old write is held while it sizes its state, or while it encodes
// it.
func TestStore_writeAcrossDiscardAndBegin_keepsTheNewState(t *testing.T) {
	gates := map[string]func(started, proceed chan struct{}) StateSource{
		"sizing": func(started, proceed chan struct{}) StateSource {
			return sizeGatedSource{BytesSource: []byte("old run"), started: started, proceed: proceed}
		},
		"encoding": func(started, proceed chan struct{}) StateSource {
			return gatedSource{BytesSource: []byte("old run"), started: started, proceed: proceed}
		},
	}
	for gate, source := range gates {
		for name, s := range stores(t) {
			t.Run(gate+"/"+name, func(t *testing.T) {
				streaming := s.(interface {
					WriteStateFrom(ctx context.Context, id int64, task string, src StateSource) (string, error)
				})
				started, proceed := make(chan struct{}), make(chan struct{})
				errc := make(chan error, 1)
				go func() {
					_, err := streaming.WriteStateFrom(context.Background(), 1, "1-0", source(started, proceed))
					errc <- err
				}()
				<-started
				if err := s.Discard(1); err != nil {
					t.Fatal(err)
				}
				s.(interface{ Begin(int64) }).Begin(1)
				h, err := s.WriteState(1, "1-0", []byte("new run"))
				if err != nil {
					t.Fatalf("the checkpoint begun again refuses its own write: %v", err)
				}
				close(proceed)
				if err := <-errc; err == nil {
					t.Error("the old run's write, under way across the discard and the new begin, was taken")
				}
				path, err := s.CommitMetadata(&Metadata{ID: 1, Job: "j", MaxParallelism: 8,
					Tasks: []TaskState{{Vertex: "1", Subtask: 0, Parallelism: 1, Handle: h}}})
				if err != nil {
					t.Fatal(err)
				}
				cp, err := s.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				got, err := cp.ReadState(h)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != "new run" {
					t.Fatalf("checkpoint 1 holds %q, want the new run's state", got)
				}
			})
		}
	}
}
