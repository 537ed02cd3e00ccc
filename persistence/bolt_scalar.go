package persistence

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// boltScalar stores value, reducing and aggregating state in a
// BoltBackend: one entry per key, cached decoded.
type boltScalar[K comparable, T any] struct {
	b     *BoltBackend[K]
	info  stateMeta
	codec Codec[T]
	ttl   ttlPolicy
	cache map[K]slot[T]
	buf   []byte // scratch for encoded values
}

var _ boltTable = (*boltScalar[int, int])(nil)

func newBoltScalar[K comparable, T any](b *BoltBackend[K], m stateMeta, c Codec[T], field string) (*boltScalar[K, T], error) {
	if c == nil {
		return nil, configErr(m.name, "%s is nil, required by the bbolt backend", field)
	}
	return &boltScalar[K, T]{b: b, info: m, codec: c, ttl: newTTLPolicy(m.ttl, b.cfg.Now),
		cache: make(map[K]slot[T])}, nil
}

func (t *boltScalar[K, T]) meta() stateMeta { return t.info }

// slot returns the current key's entry, loading it on a miss.
func (t *boltScalar[K, T]) slot() slot[T] {
	if s, ok := t.cache[t.b.key]; ok {
		return s
	}
	var s slot[T]
	if ek := t.b.prefix(); ek != nil {
		s = t.load(ek)
	}
	t.cache[t.b.key] = s
	t.b.cached++
	return s
}

func (t *boltScalar[K, T]) load(ek []byte) slot[T] {
	raw := t.b.get(t.info.name, ek)
	if raw == nil {
		return slot[T]{}
	}
	ts, payload, ok := splitValue(raw)
	v, err := t.codec.Decode(payload)
	if !ok || err != nil {
		t.b.fail(fmt.Errorf("%w: state %q: bad entry in bbolt state file %s: %v", ErrStorage, t.info.name, t.b.path, err))
		return slot[T]{}
	}
	return slot[T]{v: v, ts: ts, has: true}
}

func (t *boltScalar[K, T]) get(rmw bool) (T, bool) {
	s := t.slot()
	ok := s.has
	if ok && t.ttl.on() {
		now := t.ttl.stamp()
		switch {
		case t.ttl.expired(s.ts, now):
			t.cache[t.b.key] = slot[T]{dirty: true}
			t.b.dirty = true
			ok = t.ttl.returnExpired // a read-modify-write too: Flink reduces into it
		case t.ttl.onRead && !rmw:
			s.ts, s.dirty = now, true
			t.cache[t.b.key] = s
			t.b.dirty = true
		}
	}
	t.b.settle()
	if !ok {
		var zero T
		return zero, false
	}
	return s.v, true
}

func (t *boltScalar[K, T]) set(v T) {
	t.write(slot[T]{v: v, ts: t.ttl.stamp(), has: true, dirty: true})
}

func (t *boltScalar[K, T]) clear() { t.write(slot[T]{dirty: true}) }

func (t *boltScalar[K, T]) write(s slot[T]) {
	if _, ok := t.cache[t.b.key]; !ok {
		t.b.cached++
	}
	t.cache[t.b.key] = s
	t.b.dirty = true
	t.b.settle()
}

func (t *boltScalar[K, T]) flush(bk *bolt.Bucket, a *arena) error {
	var ops []op
	for k, s := range t.cache {
		if !s.dirty {
			continue
		}
		ek, err := t.b.encodeKey(nil, k)
		if err != nil {
			return err
		}
		o := op{ek: ek, del: !s.has}
		if s.has {
			if o.val, err = t.encode(s, a); err != nil {
				return err
			}
		}
		ops = append(ops, o)
		s.dirty = false
		t.cache[k] = s
	}
	return apply(bk, ops)
}

// encode returns the stored form of s, in a.
func (t *boltScalar[K, T]) encode(s slot[T], a *arena) ([]byte, error) {
	val, err := t.codec.Append(binary.AppendVarint(t.buf[:0], s.ts), s.v)
	if err != nil {
		return nil, fmt.Errorf("persistence: state %q: encode value: %w", t.info.name, err)
	}
	t.buf = val
	return a.copy(val), nil
}

func (t *boltScalar[K, T]) drop() { clear(t.cache) }

func (t *boltScalar[K, T]) convert(r *record, now int64) (ek, val []byte, keep bool, err error) {
	ek, err = restoreEntryKey(t.b, t.info, r)
	if err != nil {
		return nil, nil, false, err
	}
	if _, err := restoreValue(t.codec, t.info, r, "value", r.value); err != nil {
		return nil, nil, false, err
	}
	ts, keep := t.ttl.restored(*r, now)
	return ek, appendValue(nil, ts, r.value), keep, nil
}
