package persistence

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DirJobStore keeps job records as files in a directory that every node
// of a cluster reaches (a shared mount): one file per key, <key>.rec,
// holding the record's revision and value, sealed (KindRecord). It offers
// compare-and-set across processes: every write takes an exclusive
// flock(2) on the directory's .lock file, reads the key's revision, and
// replaces the file atomically (a temporary file, synced, renamed, the
// directory synced), so a reader without the lock sees the old record or
// the new one, never a mix, and a crash leaves one of them.
//
// A key's revisions are 1, 2, 3, … in the order of its writes. Delete
// removes the file: a key created again after it starts at 1 again, so
// keys must not be reused while someone may hold a revision of the
// deleted one (job ids are unique).
//
// It is safe for concurrent use by goroutines and by processes. flock
// must work on the directory's file system: it does on local disks and on
// NFSv4 (Linux maps it to byte-range locks there); on file systems where
// it does not, two nodes could both win a compare-and-set — use the
// nats:// store then.
type DirJobStore struct {
	dir string
}

// recordSuffix ends the name of every record file.
const recordSuffix = ".rec"

// lockFile is the file every write locks.
const lockFile = ".lock"

// OpenDirJobStore opens (creating it if needed) a job store in dir.
func OpenDirJobStore(dir string) (*DirJobStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("persistence: job store: %w", err)
	}
	if err := checkLockable(filepath.Join(dir, lockFile)); err != nil {
		return nil, fmt.Errorf("persistence: job store %s: %w", dir, err)
	}
	return &DirJobStore{dir: dir}, nil
}

// Dir returns the store's directory.
func (s *DirJobStore) Dir() string { return s.dir }

// Get returns a key's value and revision; the error wraps
// ErrRecordNotFound when the key has none.
func (s *DirJobStore) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := s.check(ctx, key); err != nil {
		return nil, 0, err
	}
	return s.read(key)
}

// Create writes a key that has no value and returns its revision, 1; the
// error wraps ErrRecordExists when it has one.
func (s *DirJobStore) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	return s.write(ctx, key, func(cur uint64, found bool) error {
		if found {
			return fmt.Errorf("%w: job store %s, key %q (revision %d)", ErrRecordExists, s.dir, key, cur)
		}
		return nil
	}, value)
}

// Update writes a key whose revision is still rev and returns the new
// revision; the error wraps ErrStaleRevision when the key was written
// since or has no value.
func (s *DirJobStore) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	return s.write(ctx, key, func(cur uint64, found bool) error {
		switch {
		case !found:
			return fmt.Errorf("%w: job store %s, key %q has no record (expected revision %d)", ErrStaleRevision, s.dir, key, rev)
		case cur != rev:
			return fmt.Errorf("%w: job store %s, key %q is at revision %d, not %d", ErrStaleRevision, s.dir, key, cur, rev)
		}
		return nil
	}, value)
}

// Delete removes a key whose revision is still rev (compare-and-delete);
// the error wraps ErrStaleRevision when the key was written since, and
// ErrRecordNotFound when it has no value.
func (s *DirJobStore) Delete(ctx context.Context, key string, rev uint64) error {
	if err := s.check(ctx, key); err != nil {
		return err
	}
	unlock, err := lockDir(ctx, filepath.Join(s.dir, lockFile))
	if err != nil {
		return fmt.Errorf("persistence: job store %s, key %q: lock: %w", s.dir, key, err)
	}
	defer unlock()
	_, cur, err := s.read(key)
	switch {
	case err != nil:
		return err
	case cur != rev:
		return fmt.Errorf("%w: job store %s, key %q is at revision %d, not %d", ErrStaleRevision, s.dir, key, cur, rev)
	}
	if err := os.Remove(s.file(key)); err != nil {
		return fmt.Errorf("persistence: job store, key %q: %w", key, err)
	}
	return syncDir(s.dir)
}

// Keys lists the keys that have a value, in directory order.
func (s *DirJobStore) Keys(ctx context.Context) ([]string, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("persistence: job store: %w", err)
	}
	keys := []string{}
	for _, e := range entries {
		if key, ok := strings.CutSuffix(e.Name(), recordSuffix); ok && e.Type().IsRegular() && CheckRecordKey(key) == nil {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// write applies a compare-and-set under the directory's lock: check
// decides from the key's current revision (found false: none) whether the
// write may go ahead.
func (s *DirJobStore) write(ctx context.Context, key string, check func(cur uint64, found bool) error, value []byte) (uint64, error) {
	if err := s.check(ctx, key); err != nil {
		return 0, err
	}
	unlock, err := lockDir(ctx, filepath.Join(s.dir, lockFile))
	if err != nil {
		return 0, fmt.Errorf("persistence: job store %s, key %q: lock: %w", s.dir, key, err)
	}
	defer unlock()
	_, cur, err := s.read(key)
	found := err == nil
	if err != nil && !errors.Is(err, ErrRecordNotFound) {
		return 0, err
	}
	if err := check(cur, found); err != nil {
		return 0, err
	}
	next := cur + 1
	if err := writeAtomic(s.file(key), writeBytes(encodeRecord(next, value))); err != nil {
		return 0, fmt.Errorf("persistence: job store, key %q: %w", key, err)
	}
	return next, nil
}

func (s *DirJobStore) check(ctx context.Context, key string) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if err := CheckRecordKey(key); err != nil {
		return fmt.Errorf("persistence: job store %s: %w", s.dir, err)
	}
	return nil
}

func (s *DirJobStore) file(key string) string { return filepath.Join(s.dir, key+recordSuffix) }

// read returns a key's value and revision from its file.
func (s *DirJobStore) read(key string) ([]byte, uint64, error) {
	file := s.file(key)
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: job store %s, key %q", ErrRecordNotFound, s.dir, key)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("persistence: job store: %w", err)
	}
	rev, value, err := decodeRecord(b)
	if err != nil {
		return nil, 0, fmt.Errorf("persistence: job store record %s: %w", file, err)
	}
	return value, rev, nil
}

// maxRecordKeyLen bounds a key: it names a file.
const maxRecordKeyLen = 128

// CheckRecordKey checks a job store key: 1 to 128 letters, digits, '-'
// and '_' (a file name, a NATS key-value key). The error wraps
// ErrConfig.
func CheckRecordKey(key string) error {
	if key == "" || len(key) > maxRecordKeyLen {
		return fmt.Errorf("%w: record key %q: want 1 to %d characters", ErrConfig, key, maxRecordKeyLen)
	}
	for _, r := range key {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%w: record key %q: %q is not a letter, digit, '-' or '_'", ErrConfig, key, r)
		}
	}
	return nil
}

// encodeRecord seals a record: uvarint revision, then the value.
func encodeRecord(rev uint64, value []byte) []byte {
	p := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(value)), rev)
	return Seal(KindRecord, append(p, value...))
}

// decodeRecord decodes what encodeRecord wrote; the error wraps
// ErrCorrupt or ErrVersion.
func decodeRecord(b []byte) (rev uint64, value []byte, err error) {
	p, err := unsealKind(b, KindRecord)
	if err != nil {
		return 0, nil, err
	}
	rev, n := binary.Uvarint(p)
	if n <= 0 || rev == 0 || n != uvarintLen(rev) {
		return 0, nil, corruptf("record revision at offset 0: not a positive, minimally encoded uvarint")
	}
	return rev, append([]byte{}, p[n:]...), nil
}

// lockRetry bounds the wait between two tries of a lock held by another
// process: short, since a holder only writes one small file.
const lockRetry = 20 * time.Millisecond

// lockDir takes the exclusive lock of file, waiting while another process
// or instance holds it, until ctx ends. unlock releases it.
func lockDir(ctx context.Context, file string) (unlock func(), err error) {
	wait := time.Millisecond
	for {
		unlock, ok, err := tryLock(file)
		switch {
		case err != nil:
			return nil, err
		case ok:
			return unlock, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, context.Cause(ctx)
		case <-t.C:
		}
		wait = min(2*wait, lockRetry)
	}
}
