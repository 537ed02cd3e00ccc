package operators

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFiles adds a sink that writes every record as one line of JSON into
// part files in dir, which is created if missing. Each subtask writes its
// own files. Visible part files, named "part-<subtask>-<uniq>[-<seq>].<sink>.jsonl",
// are always complete; files being written or waiting for a commit have
// names that start with ".", hidden from readers. uniq (time, attempt and
// a random number) tells apart the subtask's instances, and sink (the job
// run's id and a hash of the sink's name) the writers: names are unique
// across runs, attempts and sinks, and a committed part file is never
// rewritten. Several sinks, jobs or runs may write into one directory: a
// sink removes only hidden files that it wrote itself.
//
// Without checkpoints, a subtask writes one file, ".part-<subtask>-<uniq>.<sink>.inprogress",
// and at end of input flushes, syncs and renames it to
// "part-<subtask>-<uniq>.<sink>.jsonl". A subtask that received no records
// creates no file. When the job fails or is cancelled, the in-progress
// file is removed.
//
// With checkpoints the sink is exactly-once, by two-phase commit: the
// records of each epoch (between two barriers) go to an in-progress file,
// which at the barrier is synced and renamed ".part-…-<seq>.<sink>.pending"
// and recorded in the checkpoint; when the checkpoint completes it is
// renamed to its final name "part-<subtask>-<uniq>-<seq>.<sink>.jsonl".
// The last epoch is committed when the whole job has finished. After a
// failure, the restored sink commits the pending files of the checkpoint
// it restores (those committed already are left as they are) and removes
// the other in-progress or pending files that its own run wrote as its
// subtasks: output is neither lost nor duplicated. Hidden files of other
// writers — other jobs, other sinks, and the earlier run whose savepoint
// it starts from — it leaves alone. A part whose pending and final files
// are both gone (its final file moved away after the commit, or its
// pending file lost) is taken as committed with a warning, as in Flink,
// rather than failing every restore (see docs/state.md, "File sink
// recovery").
func WriteFiles[T any](s Stream[T], dir string) Sink {
	sink := ToSink(s, "files", func(tc *TaskContext) (SinkWriter[T], error) {
		// Here rather than at the first record, so that a bad dir fails the
		// job at start.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fileErr("output dir", dir, err)
		}
		names := newPartNamer(tc)
		if tc.Checkpointing {
			return newTxnPartWriter[T](tc, dir, names)
		}
		base := names.base(-1)
		return &partWriter[T]{
			tc:    tc,
			dir:   dir,
			tmp:   filepath.Join(dir, "."+base+".inprogress"),
			final: filepath.Join(dir, base+".jsonl"),
		}, nil
	})
	sink.n.outputDir = dir
	return sink
}

// partWriter writes one subtask's part file. The file is created at the
// first record; file is nil before that and once committed or discarded.
type partWriter[T any] struct {
	tc         *TaskContext
	dir        string
	tmp, final string
	file       *os.File
	buf        *bufio.Writer
	line       []byte
}

var _ SinkWriter[int] = (*partWriter[int])(nil)
var _ EndInputer = (*partWriter[int])(nil)
var _ BatchEnder = (*partWriter[int])(nil)
var _ Closer = (*partWriter[int])(nil)

// Write appends v to the in-progress file as a JSON line.
func (w *partWriter[T]) Write(v T, _ int64) error {
	if w.file == nil {
		if err := w.create(); err != nil {
			return err
		}
	}
	var err error
	if w.line, err = appendJSONLine(w.line[:0], v); err != nil {
		return err
	}
	if _, err := w.buf.Write(w.line); err != nil {
		return fileErr("part file", w.tmp, err)
	}
	return nil
}

func (w *partWriter[T]) create() error {
	// O_EXCL: never write into a file that another writer owns.
	f, err := os.OpenFile(w.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fileErr("part file", w.tmp, err)
	}
	w.file, w.buf = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// BatchEnd hands the batch's lines to the file, so that memory does not
// grow with the input. The file stays in progress.
func (w *partWriter[T]) BatchEnd() {
	if w.file == nil {
		return
	}
	if err := w.buf.Flush(); err != nil {
		w.tc.Fail(fileErr("part file", w.tmp, err))
	}
}

// EndInput commits the part file: flush, fsync, close, then rename to the
// final name, the step that makes it visible as complete. A file that
// cannot be committed is removed.
func (w *partWriter[T]) EndInput() error {
	if w.file == nil {
		return nil
	}
	f := w.file
	w.file = nil
	if err := w.commit(f); err != nil {
		_ = os.Remove(w.tmp)
		return err
	}
	return nil
}

func (w *partWriter[T]) commit(f *os.File) error {
	err := w.buf.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fileErr("part file", w.tmp, err)
	}
	// Rename replaces silently; a part file of the same name is another
	// run's output.
	if _, err := os.Lstat(w.final); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			err = fs.ErrExist
		}
		return fileErr("part file", w.final, err)
	}
	if err := os.Rename(w.tmp, w.final); err != nil {
		return fmt.Errorf("part file: commit: %w", err)
	}
	// The rename is durable only once the directory is synced.
	if err := syncDir(w.dir); err != nil {
		return fileErr("output dir", w.dir, err)
	}
	return nil
}

// Close discards a part file that was not committed: without EndInput the
// job failed or was cancelled, and a partial file must not look like
// output. It is safe to call more than once.
func (w *partWriter[T]) Close() error {
	if w.file == nil {
		return nil
	}
	f := w.file
	w.file = nil
	_ = f.Close() // the file is discarded; its close error loses nothing
	if err := os.Remove(w.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileErr("part file", w.tmp, err)
	}
	return nil
}

// syncDir fsyncs a directory, which makes renames in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
