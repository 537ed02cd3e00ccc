package operators

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// CheckOutputDir reports whether WriteFiles can write its part files into
// dir: dir is a directory in which this process may create files, or it
// does not exist and can be created (its nearest existing ancestor is
// such a directory). The error names dir and says why not: an existing
// file that is not a directory, a path through a file, or no permission
// to write.
//
// WriteFiles itself finds out only when a sink subtask opens, after the
// job has started; a pipeline that takes its output directory from a
// user checks it with CheckOutputDir when it is built, so that a mistake
// is reported before any work is done. It leaves nothing behind: the
// write test creates a hidden file and removes it.
func CheckOutputDir(dir string) error {
	if dir == "" {
		return errors.New("output dir: empty path")
	}
	p := filepath.Clean(dir)
	for {
		fi, err := os.Stat(p)
		switch {
		case err == nil && !fi.IsDir():
			if p == filepath.Clean(dir) {
				return fmt.Errorf("output dir %s: is a file, not a directory", dir)
			}
			return fmt.Errorf("output dir %s: %s is a file, not a directory", dir, p)
		case err == nil:
			return checkWritable(dir, p)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return fileErr("output dir", dir, err)
		}
		// Missing, or below a file: the ancestors say which.
		parent := filepath.Dir(p)
		if parent == p {
			return fileErr("output dir", dir, err)
		}
		p = parent
	}
}

// checkWritable creates and removes a hidden file in existing, the
// nearest existing directory of dir: the one test of permissions that
// holds on every platform and file system (read-only mounts, ACLs).
func checkWritable(dir, existing string) error {
	f, err := os.CreateTemp(existing, ".troupe-write-check-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named below, without the random name
		}
		if existing == filepath.Clean(dir) {
			return fmt.Errorf("output dir %s: cannot create files in it: %w", dir, err)
		}
		return fmt.Errorf("output dir %s: cannot create it in %s: %w", dir, existing, err)
	}
	name := f.Name()
	err = f.Close()
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return fileErr("output dir", dir, err)
	}
	return nil
}

// CommittedParts returns the paths of the committed part files of dir, a
// WriteFiles output directory: the visible "part-*.jsonl" files, ordered
// by subtask and, within a subtask, in the order they were written (each
// job attempt's files after those of earlier attempts, and with
// checkpoints each epoch's file after the earlier epochs'). Read in that
// order, they hold each subtask's records in the order it wrote them.
// Hidden files (being written, or pending a commit) and other names are
// not listed; a dir that does not exist is an error.
func CommittedParts(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fileErr("output dir", dir, err)
	}
	var parts []partName
	for _, e := range entries {
		if p, ok := parsePartName(e.Name()); ok && e.Type().IsRegular() {
			parts = append(parts, p)
		}
	}
	slices.SortFunc(parts, comparePartNames)
	paths := make([]string, len(parts))
	for i, p := range parts {
		paths[i] = filepath.Join(dir, p.name)
	}
	return paths, nil
}
