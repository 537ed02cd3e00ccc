package persistence

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// prune keeps the newest retain complete checkpoints and every savepoint.
// Of the incomplete ones it removes only those an earlier process left
// (below floor) and older than the newest complete checkpoint: one of
// this process may still be in progress, however old (a savepoint is
// never subsumed), and goes with Discard if it is aborted.
func (s *DirStore) prune() error {
	ids, err := s.ids()
	if err != nil {
		return err
	}
	floor := s.floor.Load() // after listing: a directory listed was noted first
	kept := 0
	newestComplete := int64(-1)
	for _, id := range slices.Backward(ids) {
		m, complete := s.peek(id)
		switch {
		case complete && m.Savepoint:
			continue
		case complete && kept < s.retain:
			kept++
			newestComplete = max(newestComplete, id)
			continue
		case !complete && (id > newestComplete || id >= floor):
			continue // may still be in progress
		}
		if err := os.RemoveAll(s.dir(id)); err != nil {
			return fmt.Errorf("persistence: retention: %w", err)
		}
	}
	return nil
}

// peek reads a checkpoint's metadata, if it is complete and readable.
func (s *DirStore) peek(id int64) (*Metadata, bool) {
	b, err := os.ReadFile(filepath.Join(s.dir(id), metadataFile))
	if err != nil {
		return nil, false
	}
	m, err := UnmarshalMetadata(b)
	return m, err == nil
}

// writeAtomic writes, through write, a temporary file next to path,
// syncs it and renames it into place, then syncs the directory, so that
// path holds either the old content or all that write wrote. If write
// fails, path is untouched and the temporary file removed.
func writeAtomic(path string, write func(w io.Writer) error) error {
	return writeAtomicGuarded(path, write, func(rename func() error) error { return rename() })
}

// writeAtomicGuarded is writeAtomic whose rename, the step that makes
// the file visible, runs inside publish: publish may refuse it (and
// return why), or hold a lock across it, so that the file appears only
// while a condition holds. The temporary file goes if it refuses.
func writeAtomicGuarded(path string, write func(w io.Writer) error, publish func(rename func() error) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("persistence: %w", err)
	}
	bw := bufio.NewWriterSize(tmp, writeBuffer)
	werr := write(bw)
	if werr == nil {
		werr = bw.Flush()
	}
	var serr error
	if werr == nil {
		serr = tmp.Sync()
	}
	cerr := tmp.Close()
	if err := firstErr(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("persistence: write %s: %w", path, err)
	}
	if err := publish(func() error { return os.Rename(tmp.Name(), path) }); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("persistence: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// writeBuffer is the buffer of a file write: state is written a record
// at a time.
const writeBuffer = 256 << 10

// writeBytes is a write function for writeAtomic that writes b.
func writeBytes(b []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("persistence: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("persistence: sync %s: %w", dir, err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// safeName keeps task names usable as file names.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' {
			return '_'
		}
		return r
	}, s)
}
