package persistence

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
)

// Restore replaces the backend's state with the entries of snaps that lie
// in its own key groups; snaps may come from any number of subtasks of a
// job at another parallelism (rescaling). Entries are matched to states by
// name; those of states not yet registered are kept and moved in when the
// state is registered. Restore changes nothing if it fails. Entries whose
// TTL expired are dropped; entries written without TTL into a state that
// now has one start their life now.
//
// The error wraps ErrMaxParallelism, ErrKeyGroup (a key group out of range
// or in two snapshots), ErrCorrupt, ErrIncompatible or ErrConfig.
func (b *HeapBackend[K]) Restore(snaps ...*KeyedSnapshot) error {
	if b.cfg.KeyCodec == nil {
		return fmt.Errorf("%w: BackendConfig.KeyCodec is nil, required by Restore", ErrConfig)
	}
	byState, err := b.collect(snaps)
	if err != nil {
		return err
	}
	now := b.nowNanos()
	commits := make([]func(), 0, len(b.states))
	for name, r := range b.states {
		commit, err := r.t.restore(byState[name], now)
		if err != nil {
			return err
		}
		commits = append(commits, commit)
		delete(byState, name)
	}
	for _, commit := range commits {
		commit()
	}
	b.setPending(byState)
	return nil
}

// collect parses the records of the owned key groups of snaps, by state.
func (b *HeapBackend[K]) collect(snaps []*KeyedSnapshot) (map[string][]record, error) {
	out := make(map[string][]record)
	names := make(map[string]string)
	err := ownedGroups(&b.cfg, snaps, func(i, kg int, data []byte) error {
		// A private copy: pending records alias it, and the caller may
		// reuse the snapshot's bytes.
		data = bytes.Clone(data)
		return parseGroup(fmt.Sprintf("restore, snapshot %d", i), data, kg, names, collector(out))
	})
	return out, err
}

// ownedGroups checks snaps against cfg and calls fn with the bytes of
// every key group that cfg owns, snapshot by snapshot, in key group
// order.
func ownedGroups[K comparable](cfg *BackendConfig[K], snaps []*KeyedSnapshot, fn func(i, kg int, data []byte) error) error {
	from := make(map[int]int) // key group → index of the snapshot holding it
	for i, s := range snaps {
		if s == nil {
			return fmt.Errorf("persistence: restore: snapshot %d is nil", i)
		}
		if s.MaxParallelism != cfg.MaxParallelism {
			return fmt.Errorf("%w: snapshot %d has max parallelism %d, the backend %d",
				ErrMaxParallelism, i, s.MaxParallelism, cfg.MaxParallelism)
		}
		for _, kg := range slices.Sorted(maps.Keys(s.Groups)) {
			owned, err := cfg.checkGroup(kg, i, from)
			if err != nil {
				return err
			}
			if !owned {
				continue
			}
			if err := fn(i, kg, s.Groups[kg]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkGroup checks that key group kg of snapshot i is in range and, if
// the backend owns it, in no other snapshot. It returns whether it is
// owned.
func (c *BackendConfig[K]) checkGroup(kg, i int, from map[int]int) (bool, error) {
	if kg < 0 || kg >= c.MaxParallelism {
		return false, fmt.Errorf("%w: snapshot %d has key group %d, outside [0, %d)",
			ErrKeyGroup, i, kg, c.MaxParallelism)
	}
	if !c.KeyGroups.Contains(kg) {
		return false, nil
	}
	if j, dup := from[kg]; dup {
		return false, fmt.Errorf("%w: key group %d is in snapshots %d and %d", ErrKeyGroup, kg, j, i)
	}
	from[kg] = i
	return true, nil
}

// collector returns a parseGroup callback that files records by state
// name, checking that all records of a name have the same kind.
func collector(out map[string][]record) func(record) error {
	return func(r record) error {
		if prev := out[r.name]; len(prev) > 0 && prev[0].kind != r.kind {
			return kindMixErr(r, prev[0].kind)
		}
		out[r.name] = append(out[r.name], r)
		return nil
	}
}

// kindMixErr reports restored records of one state name but two kinds.
func kindMixErr(r record, first stateKind) error {
	return fmt.Errorf("%w: state %q has %s entries and, in key group %d, %s entries",
		ErrCorrupt, r.name, first, r.kg, r.kind)
}

// restoreKey checks that r belongs to a state like m and decodes its key.
func restoreKey[K comparable](b *HeapBackend[K], m stateMeta, r *record) (K, error) {
	return decodeKey(b.cfg.KeyCodec, m, r)
}

// decodeKey checks that r belongs to a state like m and decodes its key
// with c.
func decodeKey[K comparable](c Codec[K], m stateMeta, r *record) (K, error) {
	if r.kind != m.kind {
		var zero K
		return zero, restoreErr(ErrIncompatible, m, r, "snapshot has a %s state, registered as a %s state", r.kind, m.kind)
	}
	k, err := c.Decode(r.key)
	if err != nil {
		return k, restoreErr(ErrIncompatible, m, r, "decode key with BackendConfig.KeyCodec: %w", err)
	}
	return k, nil
}

// restoreValue decodes one field of r with c.
func restoreValue[T any](c Codec[T], m stateMeta, r *record, what string, data []byte) (T, error) {
	v, err := c.Decode(data)
	if err != nil {
		return v, restoreErr(ErrIncompatible, m, r, "decode %s: %w", what, err)
	}
	return v, nil
}

// restoreErr wraps sentinel (and any %w in format) with the state and
// key group of r.
func restoreErr(sentinel error, m stateMeta, r *record, format string, args ...any) error {
	args = append([]any{sentinel, m.name, r.kg}, args...)
	return fmt.Errorf("%w: state %q, key group %d: "+format, args...)
}
