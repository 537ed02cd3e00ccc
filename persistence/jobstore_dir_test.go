package persistence

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestDirJobStore_revisionsGrowPerWrite(t *testing.T) {
	s, err := OpenDirJobStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rev, err := s.Create(ctx, "job-1", []byte("a"))
	if err != nil || rev != 1 {
		t.Fatalf("create: revision %d, %v", rev, err)
	}
	rev, err = s.Update(ctx, "job-1", []byte("b"), rev)
	if err != nil || rev != 2 {
		t.Fatalf("update: revision %d, %v", rev, err)
	}
	v, got, err := s.Get(ctx, "job-1")
	if err != nil || got != 2 || string(v) != "b" {
		t.Fatalf("get: %q at %d, %v", v, got, err)
	}
}

func TestDirJobStore_damagedRecordNamesFile(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDirJobStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Create(ctx, "j", []byte("value")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "j.rec")
	b, _ := os.ReadFile(file)
	b[len(b)-6] ^= 0xff
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Get(ctx, "j")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), file) {
		t.Fatalf("get of a damaged record: %v, want ErrCorrupt naming %s", err, file)
	}
	if _, err := s.Update(ctx, "j", []byte("x"), 1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("update of a damaged record: %v, want ErrCorrupt", err)
	}
}

func TestDirJobStore_badKeys(t *testing.T) {
	s, err := OpenDirJobStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "a/b", "../x", "a.b", "a b", strings.Repeat("k", 129)} {
		if _, err := s.Create(context.Background(), key, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("create %q: %v, want ErrConfig", key, err)
		}
	}
}

// A writer that holds the lock makes others wait; a cancelled context
// ends the wait with its cause.
func TestDirJobStore_lockWaitEndsWithContext(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDirJobStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	unlock, ok, err := tryLock(filepath.Join(dir, lockFile))
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("gave up")
	var wg sync.WaitGroup
	var createErr error
	wg.Go(func() { _, createErr = s.Create(ctx, "k", []byte("v")) })
	cancel(cause)
	wg.Wait()
	unlock()
	if !errors.Is(createErr, cause) {
		t.Fatalf("create while locked: %v, want the context's cause", createErr)
	}
	if _, err := s.Create(context.Background(), "k", []byte("v")); err != nil {
		t.Fatalf("create after unlock: %v", err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(1, []byte("owner=n1 epoch=3")))
	f.Add(encodeRecord(1<<40, nil))
	f.Add([]byte("TRPS\x01\x05\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rev, v, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrVersion", err)
			}
			return
		}
		if rev == 0 {
			t.Fatal("decoded revision 0")
		}
		if again := encodeRecord(rev, v); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %x vs %x", again, b)
		}
	})
}
