package persistence

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Snapshot flushes the write-back cache, then encodes, in one read
// transaction (a consistent view), the unexpired entries of every state
// and the restored entries of states not yet registered, by key group,
// exactly as a HeapBackend holding the same state would. The error wraps
// ErrKeyGroup if a key is outside the owned key groups, or ErrStorage or
// ErrClosed.
func (b *BoltBackend[K]) Snapshot() (*KeyedSnapshot, error) {
	if err := b.Flush(); err != nil {
		return nil, err
	}
	tx, err := b.readTx()
	if err != nil {
		return nil, err
	}
	g := tx.Bucket(genName(b.gen))
	groups := make(map[int][]byte)
	now := b.nowNanos()
	for _, name := range slices.Sorted(maps.Keys(b.states)) {
		bk := g.Bucket([]byte(statePrefix + name))
		if err := b.snapshotState(bk, b.states[name].t.meta(), groups, now); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b.pending)) {
		c := g.Bucket([]byte(pendingPrefix + name)).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			kg := int(binary.BigEndian.Uint16(k))
			groups[kg] = append(groups[kg], v...)
		}
	}
	return &KeyedSnapshot{MaxParallelism: b.cfg.MaxParallelism, Groups: groups}, nil
}

// snapshotState appends the records of the unexpired entries in bk, the
// bucket of state m, to their key groups.
func (b *BoltBackend[K]) snapshotState(bk *bolt.Bucket, m stateMeta, groups map[int][]byte, now int64) error {
	ttl := newTTLPolicy(m.ttl, b.cfg.Now)
	rec := record{name: m.name, kind: m.kind, hasTS: ttl.on()}
	emit := func(kg int, ts int64, payload []byte) bool {
		if !ttl.expired(ts, now) {
			rec.value, rec.ts = payload, ts
			groups[kg] = appendRecord(groups[kg], &rec)
		}
		return true
	}
	c := bk.Cursor()
	for ek, v := c.First(); ek != nil; ek, v = c.Next() {
		kg, _, key, ukey, ok := splitEntryKey(ek)
		if !ok {
			return b.badEntry(m, ek)
		}
		if !b.cfg.KeyGroups.Contains(kg) {
			return fmt.Errorf("%w: state %q: key %q is in key group %d, outside the owned key groups %v",
				ErrKeyGroup, m.name, key, kg, b.cfg.KeyGroups)
		}
		rec.key, rec.ukey = key, ukey
		if m.kind == kindList {
			ok = elems(v, func(ts int64, p []byte) bool { return emit(kg, ts, p) })
		} else {
			var ts int64
			var p []byte
			if ts, p, ok = splitValue(v); ok {
				emit(kg, ts, p)
			}
		}
		if !ok {
			return b.badEntry(m, ek)
		}
	}
	return nil
}

func (b *BoltBackend[K]) badEntry(m stateMeta, ek []byte) error {
	return fmt.Errorf("%w: state %q: malformed entry %q in bbolt state file %s", ErrStorage, m.name, ek, b.path)
}

// Keys returns the keys with an unexpired value in the named state, in
// no particular order; nil if the state is not registered. It flushes the
// write-back cache first.
func (b *BoltBackend[K]) Keys(state string) []K {
	r, ok := b.states[state]
	if !ok {
		return nil
	}
	ks := make([]K, 0)
	b.eachKey(r.t.meta(), func(key []byte) {
		k, err := b.cfg.KeyCodec.Decode(bytes.Clone(key))
		if err != nil {
			b.fail(fmt.Errorf("%w: state %q: decode key %q from bbolt state file %s: %v", ErrStorage, state, key, b.path, err))
			return
		}
		ks = append(ks, k)
	})
	return ks
}

// Entries returns the number of (state, key) pairs with an unexpired
// value, over all registered states: a list or map counts once per key,
// whatever its length. Restored entries of states not yet registered are
// not counted. It flushes the write-back cache first.
func (b *BoltBackend[K]) Entries() int {
	n := 0
	for _, r := range b.states {
		b.eachKey(r.t.meta(), func([]byte) { n++ })
	}
	return n
}

// eachKey flushes the cache and calls fn with the encoded keys of state
// m that have an unexpired entry.
func (b *BoltBackend[K]) eachKey(m stateMeta, fn func(key []byte)) {
	if b.Flush() != nil {
		return
	}
	bk := b.bucket(m.name)
	if bk == nil {
		return
	}
	ttl, now := newTTLPolicy(m.ttl, b.cfg.Now), b.nowNanos()
	var last []byte // the prefix of the last key passed to fn
	c := bk.Cursor()
	for ek, v := c.First(); ek != nil; ek, v = c.Next() {
		_, prefix, key, _, ok := splitEntryKey(ek)
		if !ok || (last != nil && bytes.Equal(prefix, last)) || !liveValue(m.kind, ttl, v, now) {
			continue
		}
		last = append(last[:0], prefix...)
		fn(key)
	}
}
