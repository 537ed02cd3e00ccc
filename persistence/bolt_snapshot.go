package persistence

import (
	"bytes"
	"context"
	"fmt"
)

// Snapshot flushes the write-back cache, then encodes, in one read
// transaction (a consistent view), the unexpired entries of every state
// and the restored entries of states not yet registered, by key group,
// exactly as a HeapBackend holding the same state would. It holds the
// whole snapshot in memory: a checkpoint takes BeginSnapshot instead,
// which streams. The error wraps ErrKeyGroup if a key is outside the
// owned key groups, or ErrStorage or ErrClosed.
func (b *BoltBackend[K]) Snapshot() (*KeyedSnapshot, error) {
	s, err := b.BeginSnapshot()
	if err != nil {
		return nil, err
	}
	defer s.Close() // a read transaction: nothing to lose
	groups := make(map[int][]byte)
	err = s.each(context.Background(), func(kg int, rec []byte) error {
		groups[kg] = append(groups[kg], rec...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &KeyedSnapshot{MaxParallelism: b.cfg.MaxParallelism, Groups: groups}, nil
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
