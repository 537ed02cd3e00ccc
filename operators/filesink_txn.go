package operators

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/troupe-dev/troupe/persistence"
)

// pendingList names the two-phase file sink's operator state: its pending
// part files. It is a union list, so that after a restore at any
// parallelism every subtask knows every pending file, and a subtask never
// removes a file that another one is to commit.
const pendingList = "pending"

// pendingPart is one epoch's part file between its barrier and its
// commit, as the sink's state keeps it.
type pendingPart struct {
	Checkpoint int64  `json:"checkpoint"` // the checkpoint that ends the epoch
	Subtask    int    `json:"subtask"`    // the subtask that wrote it
	Dir        string `json:"dir"`        // absolute
	Pending    string `json:"pending"`    // file names within Dir
	Final      string `json:"final"`
}

// txnPartWriter is the exactly-once file sink of one subtask (see
// WriteFiles): one file per epoch with records, committed when the
// checkpoint that ends the epoch completes. Its methods are called from
// the subtask's goroutine.
type txnPartWriter[T any] struct {
	tc      *TaskContext
	dir     string // absolute, so that commits after a restore find it
	names   partNamer
	seq     int // files started so far
	cur     *openPart
	pending []pendingPart // in checkpoint order
	line    []byte
	// settled: leftovers of earlier attempts of this run are dealt with,
	// by RestoreState or, on a start with nothing to restore, before the
	// first file is created
	settled bool
}

// openPart is the in-progress file of the current epoch.
type openPart struct {
	name string // base name without the "." and the suffix
	file *os.File
	buf  *bufio.Writer
}

var _ SinkWriter[int] = (*txnPartWriter[int])(nil)
var _ Snapshotter = (*txnPartWriter[int])(nil)
var _ Restorer = (*txnPartWriter[int])(nil)
var _ CheckpointListener = (*txnPartWriter[int])(nil)

func newTxnPartWriter[T any](tc *TaskContext, dir string, names partNamer) (*txnPartWriter[T], error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fileErr("output dir", dir, err)
	}
	return &txnPartWriter[T]{tc: tc, dir: abs, names: names}, nil
}

func (w *txnPartWriter[T]) path(name string) string { return filepath.Join(w.dir, name) }

// Write appends v to the epoch's in-progress file as a JSON line.
func (w *txnPartWriter[T]) Write(v T, _ int64) error {
	if w.cur == nil {
		if err := w.create(); err != nil {
			return err
		}
	}
	var err error
	if w.line, err = appendJSONLine(w.line[:0], v); err != nil {
		return err
	}
	if _, err := w.cur.buf.Write(w.line); err != nil {
		return fileErr("part file", w.path(inProgressName(w.cur.name)), err)
	}
	return nil
}

func (w *txnPartWriter[T]) create() error {
	if !w.settled {
		// A start with no state to restore: whatever an earlier attempt of
		// this run left (one that failed before its first checkpoint, or a
		// process killed then) was never part of a checkpoint; its
		// records come again from the sources.
		w.settled = true
		if err := w.discardOrphans(nil); err != nil {
			return err
		}
	}
	name := w.names.base(w.seq)
	// O_EXCL: never write into a file that another writer owns.
	f, err := os.OpenFile(w.path(inProgressName(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fileErr("part file", w.path(inProgressName(name)), err)
	}
	w.seq++
	w.cur = &openPart{name: name, file: f, buf: bufio.NewWriterSize(f, 64<<10)}
	return nil
}

// BatchEnd hands the batch's lines to the file, so that memory does not
// grow with the input.
func (w *txnPartWriter[T]) BatchEnd() {
	if w.cur == nil {
		return
	}
	if err := w.cur.buf.Flush(); err != nil {
		w.tc.Fail(fileErr("part file", w.path(inProgressName(w.cur.name)), err))
	}
}

// SnapshotState pre-commits the epoch that checkpoint id ends (its file,
// if any, becomes pending) and records every pending file.
func (w *txnPartWriter[T]) SnapshotState(id int64) (*OperatorState, error) {
	if err := w.preCommit(id); err != nil {
		return nil, err
	}
	list := make([][]byte, 0, len(w.pending))
	for _, p := range w.pending {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("part file %s: encode: %w", p.Pending, err)
		}
		list = append(list, b)
	}
	return &OperatorState{Operator: &persistence.OperatorSnapshot{Union: map[string][][]byte{pendingList: list}}}, nil
}

// preCommit makes the epoch's file durable under its pending name: flush,
// fsync, close, rename, sync the directory. After it, a crash loses
// nothing of the epoch.
func (w *txnPartWriter[T]) preCommit(id int64) error {
	if w.cur == nil {
		return nil // an epoch without records has no file
	}
	cur := w.cur
	w.cur = nil
	tmp, pending := w.path(inProgressName(cur.name)), "."+cur.name+".pending"
	if err := closeSynced(cur.buf, cur.file); err != nil {
		_ = os.Remove(tmp)
		return fileErr("part file", tmp, err)
	}
	if err := os.Rename(tmp, w.path(pending)); err != nil {
		return fmt.Errorf("part file: pre-commit: %w", err)
	}
	if err := syncDir(w.dir); err != nil {
		return fileErr("output dir", w.dir, err)
	}
	w.pending = append(w.pending, pendingPart{Checkpoint: id, Subtask: w.tc.Subtask, Dir: w.dir,
		Pending: pending, Final: cur.name + ".jsonl"})
	return nil
}

// NotifyCheckpointComplete commits every pending file of a checkpoint up
// to id, in order.
func (w *txnPartWriter[T]) NotifyCheckpointComplete(id int64) error {
	n := 0
	for _, p := range w.pending {
		if p.Checkpoint > id {
			break
		}
		if err := commitPart(w.tc.Logger, p); err != nil {
			w.pending = w.pending[n:]
			return err
		}
		n++
	}
	w.pending = w.pending[n:]
	return nil
}

// EndInput pre-commits the last epoch, committed when the whole job has
// finished (EndOfJob).
func (w *txnPartWriter[T]) EndInput() error { return w.preCommit(EndOfJob) }

// Close removes the in-progress file of an epoch that no checkpoint
// ended: the job failed or was cancelled, and a restore replays the epoch.
// Pending files stay: their checkpoint may have completed, and the next
// restore commits or removes them. It is safe to call more than once.
func (w *txnPartWriter[T]) Close() error {
	if w.cur == nil {
		return nil
	}
	cur := w.cur
	w.cur = nil
	_ = cur.file.Close() // the file is discarded; its close error loses nothing
	tmp := w.path(inProgressName(cur.name))
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileErr("part file", tmp, err)
	}
	return nil
}

func inProgressName(name string) string { return "." + name + ".inprogress" }

// closeSynced flushes buf, fsyncs f and closes it, returning the first
// error.
func closeSynced(buf *bufio.Writer, f *os.File) error {
	err := buf.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
