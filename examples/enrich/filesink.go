package enrich

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// offsetList names the file sink's operator state: the length of the
// in-progress file at the checkpoint, as 8 bytes big-endian.
const offsetList = "output-offset"

// writeFile adds a sink that writes JSON lines into one file; it must run
// as one subtask. The lines go to a hidden file next to path,
// ".<name>.inprogress", renamed to path at the end (see EndInput), so path holds either the complete output of a
// finished job, replacing what was there, or what it held before.
//
// Without checkpoints, a job that fails or is cancelled removes the
// in-progress file. With checkpoints, the sink is exactly-once: each
// snapshot syncs the file and records its length; a restore, in this
// process or a later one resuming the job, truncates the file to that
// length and appends from there, as the records after the checkpoint are
// replayed.
func writeFile(s operators.Stream[Record], path string) operators.Sink {
	return operators.ToSink(s, "jsonfile", func(tc *operators.TaskContext) (operators.SinkWriter[Record], error) {
		if tc.Parallelism != 1 {
			return nil, fmt.Errorf("enrich: output %s: the file sink needs parallelism 1, not %d", path, tc.Parallelism)
		}
		dir, base := filepath.Split(path)
		return &fileWriter{path: path, tmp: filepath.Join(dir, "."+base+".inprogress"), keep: tc.Checkpointing}, nil
	})
}

// fileWriter is the writer of writeFile. The file is opened at the first
// record, snapshot or end of input (fresh) or by RestoreState (resumed).
type fileWriter struct {
	path, tmp string
	keep      bool // checkpointing: an uncommitted file is kept for a restore
	f         *os.File
	w         *bufio.Writer
	line      []byte
	ended     bool // EndInput was called
	done      bool // committed
}

var (
	_ operators.SinkWriter[Record] = (*fileWriter)(nil)
	_ operators.EndInputer         = (*fileWriter)(nil)
	_ operators.Closer             = (*fileWriter)(nil)
	_ operators.Snapshotter        = (*fileWriter)(nil)
	_ operators.Restorer           = (*fileWriter)(nil)
	_ operators.CheckpointListener = (*fileWriter)(nil)
)

// open starts a fresh in-progress file unless one is open.
func (fw *fileWriter) open() error {
	if fw.f != nil {
		return nil
	}
	f, err := os.OpenFile(fw.tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("enrich: output: %w", err)
	}
	fw.f, fw.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Write appends r as one line.
func (fw *fileWriter) Write(r Record, _ int64) error {
	if err := fw.open(); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("enrich: encode record id %d: %w", r.ID, err)
	}
	fw.line = append(append(fw.line[:0], b...), '\n')
	if _, err := fw.w.Write(fw.line); err != nil {
		return fmt.Errorf("enrich: output: %w", err)
	}
	return nil
}

// sync makes what was written durable and returns the file's length.
func (fw *fileWriter) sync() (int64, error) {
	if err := fw.open(); err != nil {
		return 0, err
	}
	err := fw.w.Flush()
	if err == nil {
		err = fw.f.Sync()
	}
	var n int64
	if err == nil {
		n, err = fw.f.Seek(0, io.SeekCurrent)
	}
	if err != nil {
		return 0, fmt.Errorf("enrich: output %s: %w", fw.tmp, err)
	}
	return n, nil
}

// SnapshotState syncs the file and records its length.
func (fw *fileWriter) SnapshotState(int64) (*operators.OperatorState, error) {
	n, err := fw.sync()
	if err != nil {
		return nil, err
	}
	b := binary.BigEndian.AppendUint64(nil, uint64(n))
	return &operators.OperatorState{Operator: &persistence.OperatorSnapshot{
		Lists: map[string][][]byte{offsetList: {b}}}}, nil
}

// RestoreState reopens the in-progress file and cuts it back to its length
// at the checkpoint.
func (fw *fileWriter) RestoreState(parts []*operators.OperatorState) error {
	var offsets [][]byte
	for _, p := range parts {
		if p != nil && p.Operator != nil {
			offsets = append(offsets, p.Operator.Lists[offsetList]...)
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	if len(offsets) != 1 || len(offsets[0]) != 8 {
		return fmt.Errorf("enrich: output %s: malformed checkpoint state (%d entries)", fw.path, len(offsets))
	}
	n := int64(binary.BigEndian.Uint64(offsets[0]))
	f, err := os.OpenFile(fw.tmp, os.O_WRONLY|os.O_CREATE, 0o644)
	if err == nil {
		err = resume(f, n)
	}
	if err != nil {
		return fmt.Errorf("enrich: output %s: resume at byte %d: %w", fw.tmp, n, err)
	}
	fw.f, fw.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// resume truncates f to n bytes, which it must have, and seeks there.
func resume(f *os.File, n int64) error {
	fi, err := f.Stat()
	if err == nil && fi.Size() < n {
		err = fmt.Errorf("file has only %d bytes", fi.Size())
	}
	if err == nil {
		err = f.Truncate(n)
	}
	if err == nil {
		_, err = f.Seek(n, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
	}
	return err
}

// EndInput makes the file durable. Without checkpoints it commits it at
// once: the runtime closes the sink when it finishes. With checkpoints the
// commit waits for the job's final completion notice, since a restore of
// a checkpoint taken before would need the in-progress file.
func (fw *fileWriter) EndInput() error {
	fw.ended = true
	if _, err := fw.sync(); err != nil {
		return err
	}
	if fw.keep {
		return nil
	}
	return fw.commit()
}

// NotifyCheckpointComplete commits the file when the whole job has
// finished; the output of earlier checkpoints stays in progress, since a
// file is visible only whole.
func (fw *fileWriter) NotifyCheckpointComplete(id int64) error {
	if id != operators.EndOfJob || !fw.ended {
		return nil
	}
	return fw.commit()
}

// commit closes the file and renames it to its final name, once.
func (fw *fileWriter) commit() error {
	if fw.done {
		return nil
	}
	fw.done = true
	err := fw.f.Close()
	fw.f = nil
	if err == nil {
		err = os.Rename(fw.tmp, fw.path)
	}
	if err != nil {
		_ = os.Remove(fw.tmp)
		return fmt.Errorf("enrich: output: commit %s: %w", fw.path, err)
	}
	return nil
}

// Close closes an uncommitted file and, without checkpoints, removes it:
// the job failed or was cancelled. With checkpoints it stays for a restore.
// It is safe to call twice.
func (fw *fileWriter) Close() error {
	if fw.f == nil {
		return nil
	}
	_ = fw.f.Close() // unsynced bytes are past any checkpoint: not needed
	fw.f = nil
	if fw.keep {
		return nil
	}
	if err := os.Remove(fw.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("enrich: output: %w", err)
	}
	return nil
}
