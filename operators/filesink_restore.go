package operators

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
)

// commitPart renames a pending part file to its final name. It is
// idempotent: a final file that exists already was committed before (a
// restore commits again what it may have committed) and is never
// rewritten. A part whose pending and final files are both gone is taken
// as committed, with a warning on log (see partGone).
func commitPart(log *slog.Logger, p pendingPart) error {
	pending, final := filepath.Join(p.Dir, p.Pending), filepath.Join(p.Dir, p.Final)
	if _, err := os.Lstat(final); err == nil {
		_ = os.Remove(pending) // a leftover copy, if any: the final file wins
		return nil
	}
	if err := os.Rename(pending, final); err != nil {
		_, ferr := os.Lstat(final)
		if ferr == nil {
			return nil // committed meanwhile by another subtask of a restore
		}
		if partGone(pending, err, ferr) {
			log.Warn("file sink: a part file to commit is gone, and its final file too: "+
				"taken as committed (moved away after its commit); if it never was, its records are lost",
				"checkpoint", p.Checkpoint, "writer_subtask", p.Subtask, "pending", pending, "final", final)
			return nil
		}
		return fmt.Errorf("part file of checkpoint %d: commit: %w", p.Checkpoint, err)
	}
	if err := syncDir(p.Dir); err != nil {
		return fileErr("output dir", p.Dir, err)
	}
	return nil
}

// partGone reports whether a part's commit failed because its pending
// file and its final file both do not exist (renameErr and finalErr are
// the errors of the rename and of the final file's Lstat).
//
// The sink cannot tell which of two things happened: the part was
// committed and its final file later moved or deleted (by a reader that
// consumes committed files, or by someone cleaning up before a restore
// from an older checkpoint or savepoint), or its pending file was lost
// before the commit (a lost disk, or hidden files deleted by hand). In
// the first case nothing is missing; in the second the records are lost
// whatever the sink does, because the restored sources resume after
// them. Failing would not bring them back: it would fail every restore
// from this checkpoint, and the job would restart for ever. So, as
// Flink's file committer does, the commit counts as done, and the sink
// logs a warning naming both files. Any other error (a pending file that
// is there but cannot be renamed, a permission or I/O error) still fails
// the commit, naming the file: it may be transient, and retrying is
// safe.
func partGone(pending string, renameErr, finalErr error) bool {
	if !errors.Is(renameErr, fs.ErrNotExist) || !errors.Is(finalErr, fs.ErrNotExist) {
		return false
	}
	_, err := os.Lstat(pending)
	return errors.Is(err, fs.ErrNotExist)
}

// RestoreState finishes what the failed run left: it commits the pending
// files of the restored checkpoint, which is complete (this subtask those
// written by old subtasks i with i mod parallelism = its index), and
// removes the in-progress and pending files of those old subtasks that
// this sink wrote in this run and the checkpoint does not hold: their
// epochs are replayed.
//
// It removes no file of another writer. Another job's or another sink's
// files are theirs to settle; of an earlier run whose savepoint it
// restores, it commits the pending files the savepoint lists and leaves
// the others, which that run may still be writing or commit itself (see
// docs/state.md, "File sink recovery").
//
// It must come before the sink's first record, which a chain ensures by
// restoring tail first; after one it fails with ErrRestore.
func (w *txnPartWriter[T]) RestoreState(parts []*OperatorState) error {
	if w.settled {
		// Records came first (a chain restores tail first so that none
		// can): taken for a fresh start, they removed this run's hidden
		// files, which may include the pending files this restore
		// commits. Failing says so; going on would lose them silently.
		return fmt.Errorf("%w: the sink got records before its state was restored", ErrRestore)
	}
	restored, err := decodePending(parts)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, p := range restored {
		keep[filepath.Join(p.Dir, p.Pending)] = true
		if !w.owns(p.Subtask) {
			continue
		}
		if err := commitPart(w.tc.Logger, p); err != nil {
			return fmt.Errorf("%w: %w", ErrRestore, err)
		}
	}
	w.settled = true
	return w.discardOrphans(keep)
}

// owns reports whether this subtask settles the files of old subtask i.
func (w *txnPartWriter[T]) owns(i int) bool { return i%w.tc.Parallelism == w.tc.Subtask }

func decodePending(parts []*OperatorState) ([]pendingPart, error) {
	var out []pendingPart
	for _, op := range parts {
		if op == nil || op.Operator == nil {
			continue
		}
		for _, b := range op.Operator.Union[pendingList] {
			var p pendingPart
			if err := json.Unmarshal(b, &p); err != nil {
				return nil, fmt.Errorf("%w: pending part file: %v", ErrRestore, err)
			}
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b pendingPart) int {
		return cmp.Or(cmp.Compare(a.Checkpoint, b.Checkpoint), cmp.Compare(a.Subtask, b.Subtask))
	})
	return out, nil
}

// discardOrphans removes the hidden part files that this sink wrote in
// this run (their names carry its sink id, see partNamer) as the old
// subtasks this subtask settles, except those in keep. It runs before the
// subtask's first record, so none of its own new files exists yet, and
// other subtasks' new files have other indexes.
func (w *txnPartWriter[T]) discardOrphans(keep map[string]bool) error {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return fileErr("output dir", w.dir, err)
	}
	var errs []error
	for _, e := range entries {
		p, ok := parseHiddenPart(e.Name())
		path := filepath.Join(w.dir, e.Name())
		if !ok || p.sink != w.names.sink || !w.owns(p.subtask) || keep[path] {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fileErr("part file", path, err))
		}
	}
	return errors.Join(errs...)
}
