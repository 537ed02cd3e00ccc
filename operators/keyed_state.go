package operators

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

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
// snapshot, by key group, like the state they act on. NS is the timer's
// namespace within the key (a window; struct{} for none).
type timerKey[N comparable] struct {
	Domain TimeDomain
	Time   int64
	NS     N
}

// timerKeyCodec encodes a timer as "domain:time", followed by
// ":namespace" when the namespace's encoding is not empty, so that timers
// without a namespace keep their encoding.
type timerKeyCodec[N comparable] struct{ ns Codec[N] }

func (c timerKeyCodec[N]) Append(dst []byte, k timerKey[N]) ([]byte, error) {
	dst = fmt.Appendf(dst, "%d:%d", k.Domain, k.Time)
	n := len(dst)
	dst = append(dst, ':')
	dst, err := c.ns.Append(dst, k.NS)
	if err != nil {
		return dst, err
	}
	if len(dst) == n+1 {
		dst = dst[:n]
	}
	return dst, nil
}

func (c timerKeyCodec[N]) Decode(b []byte) (timerKey[N], error) {
	var k timerKey[N]
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) < 2 {
		return k, fmt.Errorf("timer %q: want domain:time", b)
	}
	d, err1 := strconv.ParseUint(parts[0], 10, 8)
	t, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return k, fmt.Errorf("timer %q: %w", b, err)
	}
	k.Domain, k.Time = TimeDomain(d), t
	var ns string
	if len(parts) == 3 {
		ns = parts[2]
	}
	var err error
	if k.NS, err = c.ns.Decode([]byte(ns)); err != nil {
		return k, fmt.Errorf("timer %q: namespace: %w", b, err)
	}
	return k, nil
}

type emptyCodec struct{}

func (emptyCodec) Append(dst []byte, _ struct{}) ([]byte, error) { return dst, nil }
func (emptyCodec) Decode([]byte) (struct{}, error)               { return struct{}{}, nil }
