package persistence

import (
	"fmt"
	"maps"
	"slices"
)

// groupWriter encodes the entries of a backend's states into per key group
// byte strings. A table calls begin, then for each key setKey, then for
// each entry of the key (map: setUserKey first) writeEntry.
type groupWriter[K comparable] struct {
	b      *HeapBackend[K]
	groups [][]byte // by key group
	rec    record   // the record being written
	val    []byte   // scratch for encoded values
}

func (w *groupWriter[K]) begin(m stateMeta) {
	w.rec = record{name: m.name, kind: m.kind, key: w.rec.key[:0], ukey: w.rec.ukey[:0],
		hasTS: m.ttl.TTL > 0}
}

// setKey encodes k and finds its key group, which must be owned.
func (w *groupWriter[K]) setKey(k K) error {
	kg := w.b.cfg.KeyGroupOf(k)
	if !w.b.cfg.KeyGroups.Contains(kg) {
		return fmt.Errorf("%w: state %q: key %v is in key group %d, outside the owned key groups %v",
			ErrKeyGroup, w.rec.name, k, kg, w.b.cfg.KeyGroups)
	}
	key, err := w.b.cfg.KeyCodec.Append(w.rec.key[:0], k)
	if err != nil {
		return fmt.Errorf("persistence: state %q: encode key %v: %w", w.rec.name, k, err)
	}
	w.rec.key, w.rec.kg = key, kg
	return nil
}

// setUserKey encodes a map state's user key.
func setUserKey[K comparable, UK any](w *groupWriter[K], c Codec[UK], uk UK) error {
	ukey, err := c.Append(w.rec.ukey[:0], uk)
	if err != nil {
		return fmt.Errorf("persistence: state %q: encode user key: %w", w.rec.name, err)
	}
	w.rec.ukey = ukey
	return nil
}

// writeEntry encodes v and appends the record to its key group.
func writeEntry[K comparable, T any](w *groupWriter[K], c Codec[T], v T, ts int64) error {
	val, err := c.Append(w.val[:0], v)
	if err != nil {
		return fmt.Errorf("persistence: state %q: encode value: %w", w.rec.name, err)
	}
	w.val = val
	w.rec.value, w.rec.ts = val, ts
	w.groups[w.rec.kg] = appendRecord(w.groups[w.rec.kg], &w.rec)
	return nil
}

// Snapshot encodes the unexpired entries of every state, and the restored
// entries of states not yet registered, by key group. The snapshot is a
// copy: later changes to the state do not affect it. The error wraps
// ErrConfig if a codec is missing, ErrKeyGroup if a key is outside the
// owned key groups, or a codec's error.
func (b *HeapBackend[K]) Snapshot() (*KeyedSnapshot, error) {
	if b.cfg.KeyCodec == nil {
		return nil, fmt.Errorf("%w: BackendConfig.KeyCodec is nil, required by Snapshot", ErrConfig)
	}
	w := &groupWriter[K]{b: b, groups: b.snapshotBuffers()}
	for _, name := range b.stateNames() {
		if err := b.states[name].t.snapshot(w); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b.pending)) {
		for i := range b.pending[name] {
			if r := &b.pending[name][i]; !r.dropped {
				w.groups[r.kg] = appendRecord(w.groups[r.kg], r)
			}
		}
	}
	groups := make(map[int][]byte)
	for kg, data := range w.groups {
		b.lastSizes[kg] = len(data)
		if len(data) > 0 {
			groups[kg] = data
		}
	}
	return &KeyedSnapshot{MaxParallelism: b.cfg.MaxParallelism, Groups: groups}, nil
}

// snapshotBuffers returns a buffer per key group for a snapshot, each
// sized for what the group took in the last one: a snapshot of a large
// state then does not grow its buffers by copying them over and over.
func (b *HeapBackend[K]) snapshotBuffers() [][]byte {
	if b.lastSizes == nil {
		b.lastSizes = make([]int, b.cfg.MaxParallelism)
	}
	bufs := make([][]byte, b.cfg.MaxParallelism)
	for kg, n := range b.lastSizes {
		if n > 0 {
			bufs[kg] = make([]byte, 0, n+n/8)
		}
	}
	return bufs
}
