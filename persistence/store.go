package persistence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// metadataFile is written last into a checkpoint's directory: its
// presence (valid) is what makes the checkpoint complete.
const metadataFile = "_metadata"

// Checkpoint is a complete checkpoint found in a store: its metadata and
// a way to read the states it lists.
type Checkpoint struct {
	Path string
	Meta *Metadata
	read func(handle string) ([]byte, error)
}

// ReadState returns the state a subtask stored under handle, checked;
// the error names the file.
func (c *Checkpoint) ReadState(handle string) ([]byte, error) { return c.read(handle) }

// DirStore keeps checkpoints in a local directory, one subdirectory per
// checkpoint (chk-<id>): a state file per subtask (<task>.state, sealed)
// and, written last and atomically, the _metadata file. It keeps the
// newest Retain complete checkpoints and every savepoint. Files are
// written to a temporary name, synced and renamed, so a crash leaves
// either the whole file or none.
//
// Retention never removes a checkpoint in progress (it may be a savepoint
// that completes after newer checkpoints): what an aborted checkpoint
// wrote goes with Discard. Only incomplete directories that an earlier
// process left, older than the newest complete checkpoint, go with
// retention.
//
// Different subtasks may call WriteState concurrently; CommitMetadata and
// Discard are called one at a time by one job master's writer;
// Checkpoints and Open may run alongside them.
//
// Several instances, in several processes, may share one directory (a
// cluster's nodes on a shared mount): each node's subtasks write their
// states through its own instance, while only the job master's commits
// metadata, discards and applies retention. The master's instance then
// learns of the checkpoints in progress from Begin, since it writes no
// state of them itself.
type DirStore struct {
	root   string
	retain int
	// floor is the lowest checkpoint ID this store has written (MaxInt64
	// before any): an incomplete directory below it was left by an
	// earlier process, one at or above it may be in progress.
	floor atomic.Int64
	// top is the highest checkpoint ID this store has begun, written or
	// discarded (0 before any): see LastID.
	top atomic.Int64

	mu sync.Mutex
	// discarded holds the checkpoints this instance discarded: a state
	// write that outlived its checkpoint's abort (a store call that hung,
	// a subtask that stopped before it could ack) would otherwise
	// re-create the directory after the discard, and nothing would ever
	// discard it again. One entry per aborted checkpoint, for the
	// store's life. Other instances on the same directory (a cluster's
	// nodes) do not see it: for theirs the master discards the late ack's
	// checkpoint again.
	discarded map[int64]bool
	// epoch counts the discards of each checkpoint ID: a write admitted
	// before a discard stays refused after a Begin of the same ID lifts
	// the discard (a new run on this store reusing the ID), so that it
	// never replaces what the new checkpoint's writes stored.
	epoch map[int64]uint64
}

// OpenDirStore opens (creating it if needed) a checkpoint directory that
// keeps the newest retain complete checkpoints (at least 1).
func OpenDirStore(root string, retain int) (*DirStore, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("persistence: checkpoint directory: %w", err)
	}
	s := &DirStore{root: root, retain: max(retain, 1), discarded: map[int64]bool{}, epoch: map[int64]uint64{}}
	s.floor.Store(math.MaxInt64)
	return s, nil
}

// wrote notes that checkpoint id is written by this process, before any
// of its files exists, so that retention leaves it alone.
func (s *DirStore) wrote(id int64) {
	s.used(id)
	for {
		f := s.floor.Load()
		if id >= f || s.floor.CompareAndSwap(f, id) {
			return
		}
	}
}

// used notes that checkpoint id was begun, written or discarded here.
func (s *DirStore) used(id int64) {
	for {
		t := s.top.Load()
		if id <= t || s.top.CompareAndSwap(t, id) {
			return
		}
	}
}

// LastID returns the highest checkpoint ID this store has used: begun,
// written or discarded through this instance, or with a directory. A job
// that continues a run on the store numbers its checkpoints above it
// (as Flink's checkpoint IDs never repeat within a job): a late call of
// an earlier run on an ID it began — a write that outlived its abort,
// the discard of the aborted checkpoint — would otherwise meet the new
// run's checkpoint of the same ID and remove or replace its states.
func (s *DirStore) LastID() (int64, error) {
	ids, err := s.ids()
	if err != nil {
		return 0, err
	}
	last := s.top.Load()
	if len(ids) > 0 {
		last = max(last, ids[len(ids)-1])
	}
	return last, nil
}

// Begin notes that checkpoint id is in progress, its state perhaps being
// written by other processes through their own instances: retention
// leaves its directory alone until it completes or is discarded. The job
// master calls it before it triggers the checkpoint. A checkpoint ID
// begun again (a run continued after its last checkpoint was aborted)
// takes writes again.
func (s *DirStore) Begin(id int64) {
	s.mu.Lock()
	delete(s.discarded, id)
	s.mu.Unlock()
	s.wrote(id)
}

// Root returns the store's directory.
func (s *DirStore) Root() string { return s.root }

func (s *DirStore) dir(id int64) string {
	return filepath.Join(s.root, fmt.Sprintf("chk-%d", id))
}

// WriteState stores one subtask's state for checkpoint id and returns its
// handle (the file's name within the checkpoint's directory).
func (s *DirStore) WriteState(id int64, task string, data []byte) (string, error) {
	return s.WriteStateFrom(context.Background(), id, task, BytesSource(data))
}

// WriteStateFrom stores one subtask's state for checkpoint id as
// WriteState does, streaming it from src to the file: it writes what
// WriteState would for src's bytes, without holding them. If ctx ends or
// src fails, no file is left; the error names the checkpoint and task,
// or the file. A write for a checkpoint this instance discarded, before
// or while it runs, fails with ErrDiscarded and leaves nothing.
func (s *DirStore) WriteStateFrom(ctx context.Context, id int64, task string, src StateSource) (string, error) {
	ticket, err := s.admit(id, task)
	if err != nil {
		return "", err
	}
	s.wrote(id)
	size, err := sourceSize(ctx, src)
	if err != nil {
		return "", fmt.Errorf("persistence: checkpoint %d, state of %s: %w", id, task, err)
	}
	dir := s.dir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("persistence: checkpoint %d: %w", id, err)
	}
	handle := safeName(task) + ".state"
	err = writeAtomicGuarded(filepath.Join(dir, handle), func(w io.Writer) error {
		return encodeSealed(ctx, w, KindSubtask, size, src)
	}, func(rename func() error) error {
		// The file appears only while the checkpoint is the one this
		// write was admitted to: a discard marks it before it removes
		// the directory, and a Begin of the ID again, or the new
		// checkpoint's own write, waits for the rename.
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.refuseLocked(id, task, ticket); err != nil {
			return err
		}
		return rename()
	})
	if errors.Is(err, ErrDiscarded) {
		// Discarded meanwhile, perhaps after the directory was made
		// again: take back the directory if nothing else is in it.
		_ = os.Remove(dir) // only if empty: the last late write removes it
	}
	if err != nil {
		return "", err // names the file, or the discarded checkpoint
	}
	return handle, nil
}

// admit lets a write of checkpoint id begin, unless id was discarded,
// and returns its ticket: the discards of id so far.
func (s *DirStore) admit(id int64, task string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch[id], s.refuseLocked(id, task, s.epoch[id])
}

// refuseLocked returns ErrDiscarded if checkpoint id was discarded since
// the write with ticket was admitted. s.mu is held.
func (s *DirStore) refuseLocked(id int64, task string, ticket uint64) error {
	if s.discarded[id] || s.epoch[id] != ticket {
		return fmt.Errorf("%w: checkpoint %d, state of %s", ErrDiscarded, id, task)
	}
	return nil
}

// CommitMetadata completes checkpoint m.ID by writing its metadata, then
// applies retention. It returns the checkpoint's path. Retention is best
// effort: a directory it cannot remove now is removed at a later commit,
// and never makes the commit fail.
func (s *DirStore) CommitMetadata(m *Metadata) (string, error) {
	b, err := m.MarshalBinary()
	if err != nil {
		return "", err
	}
	s.wrote(m.ID)
	dir := s.dir(m.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("persistence: checkpoint %d: %w", m.ID, err)
	}
	if err := writeAtomic(filepath.Join(dir, metadataFile), writeBytes(b)); err != nil {
		return "", err
	}
	_ = s.prune() // best effort, see above
	return dir, nil
}

// Discard removes what an aborted checkpoint wrote. A checkpoint whose
// metadata is stored is complete, whatever the caller believes (an abort
// that raced the commit), and stays: once its metadata is durable a
// checkpoint may be restored, so it is never deleted but by retention.
func (s *DirStore) Discard(id int64) error {
	if _, complete := s.peek(id); complete {
		return nil
	}
	s.mu.Lock()
	s.used(id)
	s.discarded[id] = true // before the removal: a write that comes later is refused
	s.epoch[id]++          // and one under way stays refused after a Begin again
	s.mu.Unlock()
	if err := os.RemoveAll(s.dir(id)); err != nil {
		return fmt.Errorf("persistence: discard checkpoint %d: %w", id, err)
	}
	return nil
}

// DiscardState removes one state a subtask wrote for checkpoint id (the
// handle WriteState returned), and the checkpoint's directory if that
// leaves it empty; a complete checkpoint stays. A subtask whose write
// finished after it stopped, and which will not ack it, calls it: only
// the writer knows of that state, and in a cluster the master's instance
// may have discarded the checkpoint before the write re-created it.
func (s *DirStore) DiscardState(id int64, handle string) error {
	if _, complete := s.peek(id); complete {
		return nil
	}
	dir := s.dir(id)
	if err := os.Remove(filepath.Join(dir, filepath.Base(handle))); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("persistence: discard %s of checkpoint %d: %w", handle, id, err)
	}
	_ = os.Remove(dir) // only if empty: other subtasks' states stay for the checkpoint's discard
	return nil
}

// Checkpoints returns the paths of the directories holding a _metadata
// file, newest first. It does not validate them: Open does.
func (s *DirStore) Checkpoints() ([]string, error) {
	ids, err := s.ids()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, id := range slices.Backward(ids) {
		if _, err := os.Stat(filepath.Join(s.dir(id), metadataFile)); err == nil {
			paths = append(paths, s.dir(id))
		}
	}
	return paths, nil
}

// Open reads and checks the metadata of the checkpoint at path.
func (s *DirStore) Open(path string) (*Checkpoint, error) { return OpenCheckpoint(path) }

// OpenCheckpoint opens the checkpoint (or savepoint) directory at path,
// such as one that a stop with savepoint printed. The error names the
// file that is missing or damaged.
func OpenCheckpoint(path string) (*Checkpoint, error) {
	file := filepath.Join(path, metadataFile)
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoCheckpoint, err)
	}
	m, err := UnmarshalMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &Checkpoint{Path: path, Meta: m, read: func(handle string) ([]byte, error) {
		return readState(filepath.Join(path, filepath.Base(handle)))
	}}, nil
}

func readState(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("persistence: %w", err)
	}
	p, err := unsealKind(b, KindSubtask)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

// ids lists the checkpoint IDs that have a directory, ascending.
func (s *DirStore) ids() ([]int64, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("persistence: checkpoint directory: %w", err)
	}
	var ids []int64
	for _, e := range entries {
		if id, ok := strings.CutPrefix(e.Name(), "chk-"); ok && e.IsDir() {
			if n, err := strconv.ParseInt(id, 10, 64); err == nil {
				ids = append(ids, n)
			}
		}
	}
	slices.Sort(ids)
	return ids, nil
}
