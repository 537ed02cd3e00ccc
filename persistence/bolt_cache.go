package persistence

import (
	"bytes"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// slot is a cached entry: a value and its TTL timestamp, or its absence.
type slot[T any] struct {
	v     T
	ts    int64
	has   bool // a value is present
	dirty bool // it differs from the file
}

// boltSweepEntries is how many entries of a state with TTL each flush
// examines for expired ones, going round its bucket: the file's share of
// incremental cleanup (reads never return expired entries anyway).
const boltSweepEntries = 256

// Flush writes the changed entries of the write-back cache to the file in
// one transaction. It returns the first storage error the backend met,
// now or before (see Err).
func (b *BoltBackend[K]) Flush() error {
	if b.err != nil {
		return b.err
	}
	if b.closed {
		return b.closedErr()
	}
	if !b.dirty {
		return nil
	}
	if err := b.update(b.flushTx); err != nil {
		b.fail(err)
		return err
	}
	b.dirty = false
	return nil
}

func (b *BoltBackend[K]) flushTx(tx *bolt.Tx) error {
	g := tx.Bucket(genName(b.gen))
	var a arena
	now := b.nowNanos()
	for name, r := range b.states {
		bk := g.Bucket([]byte(statePrefix + name))
		if err := r.t.flush(bk, &a); err != nil {
			return err
		}
		if m := r.t.meta(); m.ttl.TTL > 0 {
			r.sweep = sweep(bk, m.kind, newTTLPolicy(m.ttl, b.cfg.Now), r.sweep, now)
		}
	}
	return nil
}

// settle ends an access: if the caches outgrew their bound, it flushes
// them and empties them. On a storage error it keeps them, since their
// changes are not stored.
func (b *BoltBackend[K]) settle() {
	if b.cached <= b.cfg.CacheEntries {
		return
	}
	if b.Flush() != nil {
		return
	}
	b.dropCaches()
}

func (b *BoltBackend[K]) dropCaches() {
	for _, r := range b.states {
		r.t.drop()
	}
	b.cached = 0
}

// op is one write of a flush: a put, or a delete if del.
type op struct {
	ek, val []byte
	del     bool
}

// apply sorts ops by key, which bbolt writes fastest, and applies them.
func apply(bk *bolt.Bucket, ops []op) error {
	slices.SortFunc(ops, func(x, y op) int { return bytes.Compare(x.ek, y.ek) })
	for _, o := range ops {
		var err error
		if o.del {
			err = bk.Delete(o.ek)
		} else {
			err = bk.Put(o.ek, o.val)
		}
		if err != nil {
			return bolted(err)
		}
	}
	return nil
}

// deletePrefix deletes the entries whose keys start with prefix.
func deletePrefix(bk *bolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := bk.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := bk.Delete(k); err != nil {
			return bolted(err)
		}
	}
	return nil
}

// sweep deletes the expired entries among boltSweepEntries of bk from
// key from on, and returns where the next sweep starts (nil: the start).
// It deletes nothing it cannot parse: reads report that.
func sweep(bk *bolt.Bucket, kind stateKind, ttl ttlPolicy, from []byte, now int64) []byte {
	var dead [][]byte
	c := bk.Cursor()
	k, v := c.Seek(from)
	for n := 0; k != nil && n < boltSweepEntries; n++ {
		if !liveValue(kind, ttl, v, now) {
			dead = append(dead, bytes.Clone(k))
		}
		k, v = c.Next()
	}
	next := bytes.Clone(k)
	for _, d := range dead {
		if bk.Delete(d) != nil {
			break
		}
	}
	return next
}

// liveValue reports whether a stored value has an unexpired entry (a
// list: an element). A malformed value counts as live.
func liveValue(kind stateKind, ttl ttlPolicy, v []byte, now int64) bool {
	if !ttl.on() {
		return true
	}
	if kind == kindList {
		live := false
		ok := elems(v, func(ts int64, _ []byte) bool {
			live = !ttl.expired(ts, now)
			return !live
		})
		return live || !ok
	}
	ts, _, ok := splitValue(v)
	return !ok || !ttl.expired(ts, now)
}
