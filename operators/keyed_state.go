package operators

import (
	"fmt"

	"github.com/troupe-dev/troupe/persistence"
)

// newKeyedBackend returns the heap state backend of one keyed subtask: it
// owns the subtask's key groups, and keys are encoded with JSON in
// snapshots.
func newKeyedBackend[K comparable](tc *TaskContext) (*persistence.HeapBackend[K], error) {
	start, end := KeyGroupRange(tc.Subtask, tc.Parallelism, tc.MaxParallelism)
	hash, maxPar := keyHasher[K](), tc.MaxParallelism
	return persistence.NewHeapBackend(persistence.BackendConfig[K]{
		MaxParallelism: maxPar,
		KeyGroups:      persistence.Range{Start: start, End: end},
		KeyGroupOf:     func(k K) int { return KeyGroup(hash(k), maxPar) },
		KeyCodec:       JSONCodec[K]{},
		Now:            tc.Now,
	})
}

// keyedSnapshot snapshots a backend as an operator's state.
func keyedSnapshot[K comparable](b *persistence.HeapBackend[K]) (*OperatorState, error) {
	ks, err := b.Snapshot()
	if err != nil {
		return nil, err
	}
	return &OperatorState{Keyed: ks}, nil
}

// restoreKeyed restores a backend from the keyed parts of a restored state.
func restoreKeyed[K comparable](b *persistence.HeapBackend[K], parts []*OperatorState) error {
	var snaps []*persistence.KeyedSnapshot
	for _, p := range parts {
		if p == nil {
			continue
		}
		if p.Operator != nil {
			return fmt.Errorf("%w: a keyed operator got non-keyed state", ErrRestore)
		}
		if p.Keyed != nil {
			snaps = append(snaps, p.Keyed)
		}
	}
	return b.Restore(snaps...)
}

// timerKey is a registered timer in keyed state: timers are part of the
// snapshot, by key group, like the state they act on.
type timerKey struct {
	Domain TimeDomain
	Time   int64
}

type timerKeyCodec struct{}

func (timerKeyCodec) Append(dst []byte, k timerKey) ([]byte, error) {
	return fmt.Appendf(dst, "%d:%d", k.Domain, k.Time), nil
}

func (timerKeyCodec) Decode(b []byte) (timerKey, error) {
	var k timerKey
	if _, err := fmt.Sscanf(string(b), "%d:%d", &k.Domain, &k.Time); err != nil {
		return k, fmt.Errorf("timer %q: %w", b, err)
	}
	return k, nil
}

type emptyCodec struct{}

func (emptyCodec) Append(dst []byte, _ struct{}) ([]byte, error) { return dst, nil }
func (emptyCodec) Decode([]byte) (struct{}, error)               { return struct{}{}, nil }
