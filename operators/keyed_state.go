package operators

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/troupe-dev/troupe/persistence"
)

// The state backends a TaskContext may name (TaskContext.StateBackend).
const (
	// StateBackendHeap keeps keyed state on the Go heap: the default.
	StateBackendHeap = "heap"
	// StateBackendBolt keeps keyed state in a bbolt file per keyed
	// subtask under TaskContext.StateDir, for state larger than memory.
	StateBackendBolt = "bbolt"
)

// newKeyedBackend returns the state backend of one keyed subtask, of the
// kind tc.StateBackend names: it owns the subtask's key groups, and keys
// are encoded with JSON. Either backend's snapshots restore into the
// other. The operator must release it with closeKeyed.
func newKeyedBackend[K comparable](tc *TaskContext) (persistence.Backend[K], error) {
	switch tc.StateBackend {
	case "", StateBackendHeap:
		return newHeapKeyedBackend[K](tc)
	case StateBackendBolt:
		path, err := boltStatePath(tc)
		if err != nil {
			return nil, err
		}
		b, err := persistence.NewBoltBackend(keyedConfig[K](tc), path)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, fmt.Errorf("operators: unknown state backend %q (want %q or %q)",
		tc.StateBackend, StateBackendHeap, StateBackendBolt)
}

// newHeapKeyedBackend returns a heap backend whatever tc.StateBackend
// says: for operators that keep their state in their own maps and use a
// backend only to encode snapshots by key group, and to decode them.
func newHeapKeyedBackend[K comparable](tc *TaskContext) (*persistence.HeapBackend[K], error) {
	return persistence.NewHeapBackend(keyedConfig[K](tc))
}

func keyedConfig[K comparable](tc *TaskContext) persistence.BackendConfig[K] {
	start, end := KeyGroupRange(tc.Subtask, tc.Parallelism, tc.MaxParallelism)
	hash, maxPar := keyHasher[K](), tc.MaxParallelism
	return persistence.BackendConfig[K]{
		MaxParallelism: maxPar,
		KeyGroups:      persistence.Range{Start: start, End: end},
		KeyGroupOf:     func(k K) int { return KeyGroup(hash(k), maxPar) },
		KeyCodec:       JSONCodec[K]{},
		Now:            tc.Now,
		CacheEntries:   tc.StateCacheEntries,
	}
}

// boltStatePath returns the bbolt file of tc's subtask,
// StateDir/<job>/<operator>-<subtask>-attempt<N>.db, creating its
// directory. Each attempt has its own file, so that a restarted subtask
// never waits for the file of the attempt it replaces.
func boltStatePath(tc *TaskContext) (string, error) {
	if tc.StateDir == "" {
		return "", fmt.Errorf("operators: the %s state backend needs a state directory (StateDir)", StateBackendBolt)
	}
	dir := filepath.Join(tc.StateDir, fileSafe(tc.Job))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("state directory: %w", err)
	}
	name := fmt.Sprintf("%s-%d-attempt%d.db", fileSafe(tc.Operator), tc.Subtask, tc.Attempt)
	return filepath.Join(dir, name), nil
}

// fileSafe maps a name to one usable as a file name.
func fileSafe(name string) string {
	if name == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, name)
}

// closeKeyed releases a keyed backend: a bbolt backend's file is closed
// and removed, since state is recovered from checkpoints, never from it.
func closeKeyed[K comparable](b persistence.Backend[K]) error {
	bb, ok := b.(*persistence.BoltBackend[K])
	if !ok {
		return nil
	}
	err := bb.Close()
	if rerr := os.Remove(bb.Path()); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// keyedSnapshot snapshots a backend as an operator's state: the heap's
// is a copy; the bbolt backend's is a read transaction, streamed when the
// checkpoint is written, so that the subtask does not scan its state at
// the barrier.
func keyedSnapshot[K comparable](b persistence.Backend[K]) (*OperatorState, error) {
	if bb, ok := b.(*persistence.BoltBackend[K]); ok {
		s, err := bb.BeginSnapshot()
		if err != nil {
			return nil, err
		}
		return &OperatorState{KeyedStream: s}, nil
	}
	ks, err := b.Snapshot()
	if err != nil {
		return nil, err
	}
	return &OperatorState{Keyed: ks}, nil
}

// restoreKeyed restores a backend from the keyed parts of a restored state.
func restoreKeyed[K comparable](b persistence.Backend[K], parts []*OperatorState) error {
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
	dst = strconv.AppendUint(dst, uint64(k.Domain), 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, k.Time, 10)
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
