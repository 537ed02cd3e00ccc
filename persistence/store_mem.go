package persistence

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MemStore keeps checkpoints in memory, for jobs that must survive the
// failure of a subtask but not of the process (and for tests). It keeps
// the newest Retain complete checkpoints and every savepoint; what a
// checkpoint in progress wrote stays until it completes or is discarded
// (it may be a savepoint completing after newer checkpoints). It is safe
// for concurrent use.
//
// A store has a name, which its paths carry ("mem:<name>/chk-<id>"), so
// that the paths of different stores (one per job run, say) never
// coincide and a path tells which store holds it (MemStoreName).
type MemStore struct {
	name     string
	mu       sync.Mutex
	retain   int
	states   map[int64]map[string][]byte
	complete map[int64]*Metadata
	// discarded: the checkpoints Discard dropped, whose late writes are
	// refused (see DirStore.discarded)
	discarded map[int64]bool
	// epoch counts the discards of each ID (see DirStore.epoch)
	epoch map[int64]uint64
	// top is the highest ID begun, written or discarded (see LastID)
	top int64
}

// LastID returns the highest checkpoint ID the store has used: begun,
// written, committed or discarded (see DirStore.LastID).
func (s *MemStore) LastID() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.top, nil
}

// NewMemStore returns an empty in-memory store named name keeping
// retain (≥ 1) complete checkpoints.
func NewMemStore(name string, retain int) *MemStore {
	return &MemStore{name: name, retain: max(retain, 1), states: map[int64]map[string][]byte{}, complete: map[int64]*Metadata{},
		discarded: map[int64]bool{}, epoch: map[int64]uint64{}}
}

// WriteState keeps a copy of data as task's state in checkpoint id.
func (s *MemStore) WriteState(id int64, task string, data []byte) (string, error) {
	return s.WriteStateFrom(context.Background(), id, task, BytesSource(data))
}

// WriteStateFrom keeps src's bytes as task's state in checkpoint id, as
// WriteState does (the store is memory: it holds them whole). If ctx
// ends or src fails, nothing is kept.
func (s *MemStore) WriteStateFrom(ctx context.Context, id int64, task string, src StateSource) (string, error) {
	s.mu.Lock()
	ticket := s.epoch[id]
	s.mu.Unlock()
	size, err := sourceSize(ctx, src)
	if err != nil {
		return "", fmt.Errorf("persistence: checkpoint %d, state of %s: %w", id, task, err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, sealedLen(size)))
	if err := encodeSealed(ctx, buf, KindSubtask, size, src); err != nil {
		return "", fmt.Errorf("persistence: checkpoint %d, state of %s: %w", id, task, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.discarded[id] || s.epoch[id] != ticket { // discarded before or while it wrote
		return "", fmt.Errorf("%w: checkpoint %d, state of %s", ErrDiscarded, id, task)
	}
	s.top = max(s.top, id)
	if s.states[id] == nil {
		s.states[id] = map[string][]byte{}
	}
	s.states[id][task] = buf.Bytes()
	return task, nil
}

// CommitMetadata completes checkpoint m.ID and drops the oldest complete
// checkpoints beyond retention (see prune); the path is
// "mem:<name>/chk-<id>".
func (s *MemStore) CommitMetadata(m *Metadata) (string, error) {
	b, err := m.MarshalBinary()
	if err != nil {
		return "", err
	}
	cp, _ := UnmarshalMetadata(b) // a private copy, as stored
	s.mu.Lock()
	defer s.mu.Unlock()
	s.complete[m.ID] = cp
	s.prune()
	return s.path(m.ID), nil
}

// prune drops the complete checkpoints older than the newest retain
// ones. Savepoints are neither dropped nor counted, as in DirStore.prune
// (and Flink's state.checkpoints.num-retained): the checkpoints kept are
// those a user may restore when the newest cannot be read, however many
// savepoints were taken since. Called with s.mu held.
func (s *MemStore) prune() {
	kept := 0
	for _, id := range slices.Backward(slices.Sorted(maps.Keys(s.complete))) {
		switch {
		case s.complete[id].Savepoint:
		case kept < s.retain:
			kept++
		default:
			delete(s.complete, id)
			delete(s.states, id)
		}
	}
}

// DiscardState drops one state of checkpoint id (see
// DirStore.DiscardState); a complete checkpoint stays.
func (s *MemStore) DiscardState(id int64, handle string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.complete[id] == nil {
		delete(s.states[id], handle)
		if len(s.states[id]) == 0 {
			delete(s.states, id)
		}
	}
	return nil
}

// Begin notes that checkpoint id is in progress: an ID begun again (a run
// continued after its last checkpoint was aborted) takes writes again.
func (s *MemStore) Begin(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.top = max(s.top, id)
	delete(s.discarded, id)
}

// Discard drops what an aborted checkpoint wrote; a complete checkpoint
// stays (see DirStore.Discard).
func (s *MemStore) Discard(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.top = max(s.top, id)
	if s.complete[id] == nil {
		delete(s.states, id)
		s.discarded[id] = true
		s.epoch[id]++
	}
	return nil
}

// Checkpoints returns the paths of the complete checkpoints, newest first.
func (s *MemStore) Checkpoints() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var paths []string
	for _, id := range slices.Backward(slices.Sorted(maps.Keys(s.complete))) {
		paths = append(paths, s.path(id))
	}
	return paths, nil
}

// Open returns the complete checkpoint at path, one of this store's.
func (s *MemStore) Open(path string) (*Checkpoint, error) {
	name, id, ok := parseMemPath(path)
	if !ok || name != s.name {
		return nil, fmt.Errorf("%w: %q is not a checkpoint of in-memory store %q", ErrNoCheckpoint, path, s.name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.complete[id]
	if m == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoCheckpoint, path)
	}
	states := s.states[id]
	return &Checkpoint{Path: path, Meta: m, read: func(handle string) ([]byte, error) {
		b, ok := states[handle]
		if !ok {
			return nil, fmt.Errorf("%w: %s has no state %q", ErrNoCheckpoint, path, handle)
		}
		return unsealKind(b, KindSubtask)
	}}, nil
}

// memPrefix opens every path of a MemStore.
const memPrefix = "mem:"

func (s *MemStore) path(id int64) string { return fmt.Sprintf("%s%s/chk-%d", memPrefix, s.name, id) }

// MemStoreName returns the name of the MemStore that returned path, and
// false if path is not a MemStore's.
func MemStoreName(path string) (string, bool) {
	name, _, ok := parseMemPath(path)
	return name, ok
}

// parseMemPath splits "mem:<name>/chk-<id>".
func parseMemPath(path string) (name string, id int64, ok bool) {
	rest, ok := strings.CutPrefix(path, memPrefix)
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndex(rest, "/chk-")
	if i < 0 {
		return "", 0, false
	}
	id, err := strconv.ParseInt(rest[i+len("/chk-"):], 10, 64)
	if err != nil || id < 1 {
		return "", 0, false
	}
	return rest[:i], id, true
}
