package persistence

import (
	"fmt"
	"maps"
	"slices"
	"sync"
)

// MemStore keeps checkpoints in memory, for jobs that must survive the
// failure of a subtask but not of the process (and for tests). It keeps
// the newest Retain complete checkpoints and every savepoint; what a
// checkpoint in progress wrote stays until it completes or is discarded
// (it may be a savepoint completing after newer checkpoints). It is safe
// for concurrent use.
type MemStore struct {
	mu       sync.Mutex
	retain   int
	states   map[int64]map[string][]byte
	complete map[int64]*Metadata
}

// NewMemStore returns an empty in-memory store keeping retain (≥ 1)
// complete checkpoints.
func NewMemStore(retain int) *MemStore {
	return &MemStore{retain: max(retain, 1), states: map[int64]map[string][]byte{}, complete: map[int64]*Metadata{}}
}

// WriteState keeps a copy of data as task's state in checkpoint id.
func (s *MemStore) WriteState(id int64, task string, data []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.states[id] == nil {
		s.states[id] = map[string][]byte{}
	}
	s.states[id][task] = Seal(KindSubtask, data)
	return task, nil
}

// CommitMetadata completes checkpoint m.ID and drops the oldest complete
// checkpoints beyond retention, savepoints excepted; the path is
// "mem:chk-<id>".
func (s *MemStore) CommitMetadata(m *Metadata) (string, error) {
	b, err := m.MarshalBinary()
	if err != nil {
		return "", err
	}
	cp, _ := UnmarshalMetadata(b) // a private copy, as stored
	s.mu.Lock()
	defer s.mu.Unlock()
	s.complete[m.ID] = cp
	ids := slices.Sorted(maps.Keys(s.complete))
	for _, id := range ids[:max(len(ids)-s.retain, 0)] {
		if !s.complete[id].Savepoint {
			delete(s.complete, id)
			delete(s.states, id)
		}
	}
	return memPath(m.ID), nil
}

// Discard drops what an aborted checkpoint wrote; a complete checkpoint
// stays (see DirStore.Discard).
func (s *MemStore) Discard(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.complete[id] == nil {
		delete(s.states, id)
	}
	return nil
}

// Checkpoints returns the paths of the complete checkpoints, newest first.
func (s *MemStore) Checkpoints() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var paths []string
	for _, id := range slices.Backward(slices.Sorted(maps.Keys(s.complete))) {
		paths = append(paths, memPath(id))
	}
	return paths, nil
}

// Open returns the complete checkpoint at path.
func (s *MemStore) Open(path string) (*Checkpoint, error) {
	var id int64
	if _, err := fmt.Sscanf(path, "mem:chk-%d", &id); err != nil {
		return nil, fmt.Errorf("%w: %q", ErrNoCheckpoint, path)
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

func memPath(id int64) string { return fmt.Sprintf("mem:chk-%d", id) }
