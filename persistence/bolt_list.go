package persistence

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// boltList stores list state in a BoltBackend: one entry per key holding
// the key's elements, cached decoded.
type boltList[K comparable, V any] struct {
	b     *BoltBackend[K]
	info  stateMeta
	codec Codec[V]
	ttl   ttlPolicy
	cache map[K]*listCell[V] // a cell with no elements: no list
	dirty map[K]bool         // keys whose cells differ from the file
	buf   []byte             // scratch for encoded elements
}

var _ boltTable = (*boltList[int, int])(nil)

func newBoltList[K comparable, V any](b *BoltBackend[K], m stateMeta, c Codec[V]) (*boltList[K, V], error) {
	if c == nil {
		return nil, configErr(m.name, "ListDescriptor.Codec is nil, required by the bbolt backend")
	}
	return &boltList[K, V]{b: b, info: m, codec: c, ttl: newTTLPolicy(m.ttl, b.cfg.Now),
		cache: make(map[K]*listCell[V]), dirty: make(map[K]bool)}, nil
}

func (t *boltList[K, V]) meta() stateMeta { return t.info }

// cell returns the current key's list, loading it on a miss.
func (t *boltList[K, V]) cell() *listCell[V] {
	if c, ok := t.cache[t.b.key]; ok {
		return c
	}
	c := &listCell[V]{}
	if ek := t.b.prefix(); ek != nil {
		t.load(c, t.b.get(t.info.name, ek))
	}
	t.cache[t.b.key] = c
	t.b.cached++
	return c
}

func (t *boltList[K, V]) load(c *listCell[V], raw []byte) {
	var err error
	ok := elems(raw, func(ts int64, payload []byte) bool {
		var v V
		if v, err = t.codec.Decode(payload); err != nil {
			return false
		}
		c.elems = append(c.elems, cell[V]{v: v, ts: ts})
		return true
	})
	if !ok || err != nil {
		t.b.fail(fmt.Errorf("%w: state %q: bad entry in bbolt state file %s: %v", ErrStorage, t.info.name, t.b.path, err))
		c.elems = nil
	}
}

// changed marks the current key's list as changed.
func (t *boltList[K, V]) changed() {
	t.dirty[t.b.key] = true
	t.b.dirty = true
}

func (t *boltList[K, V]) get() []V {
	defer t.b.settle()
	c := t.cell()
	if len(c.elems) == 0 {
		return nil
	}
	out := make([]V, 0, len(c.elems))
	if !t.ttl.on() {
		for _, e := range c.elems {
			out = append(out, e.v)
		}
		return out
	}
	n, now := len(c.elems), t.ttl.stamp()
	kept := c.elems[:0]
	for _, e := range c.elems {
		exp := t.ttl.expired(e.ts, now)
		if !exp || t.ttl.returnExpired {
			out = append(out, e.v)
		}
		if !exp {
			if t.ttl.onRead {
				e.ts = now
			}
			kept = append(kept, e)
		}
	}
	clear(c.elems[len(kept):])
	if c.elems = kept; len(kept) != n || t.ttl.onRead {
		t.changed()
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (t *boltList[K, V]) add(vs ...V) {
	if len(vs) == 0 {
		return
	}
	c, now := t.cell(), t.ttl.stamp()
	for _, v := range vs {
		c.elems = append(c.elems, cell[V]{v: v, ts: now})
	}
	t.changed()
	t.b.settle()
}

func (t *boltList[K, V]) update(vs []V) {
	now := t.ttl.stamp()
	c := &listCell[V]{elems: make([]cell[V], 0, len(vs))}
	for _, v := range vs {
		c.elems = append(c.elems, cell[V]{v: v, ts: now})
	}
	if _, ok := t.cache[t.b.key]; !ok {
		t.b.cached++
	}
	t.cache[t.b.key] = c
	t.changed()
	t.b.settle()
}

func (t *boltList[K, V]) clear() { t.update(nil) }

func (t *boltList[K, V]) flush(bk *bolt.Bucket, a *arena) error {
	ops := make([]op, 0, len(t.dirty))
	for k := range t.dirty {
		ek, err := t.b.encodeKey(nil, k)
		if err != nil {
			return err
		}
		o := op{ek: ek, del: len(t.cache[k].elems) == 0}
		if !o.del {
			if o.val, err = t.encode(t.cache[k], a); err != nil {
				return err
			}
		}
		ops = append(ops, o)
	}
	clear(t.dirty)
	return apply(bk, ops)
}

// encode returns the stored form of c, in a.
func (t *boltList[K, V]) encode(c *listCell[V], a *arena) ([]byte, error) {
	var out []byte
	for _, e := range c.elems {
		val, err := t.codec.Append(t.buf[:0], e.v)
		if err != nil {
			return nil, fmt.Errorf("persistence: state %q: encode element: %w", t.info.name, err)
		}
		t.buf = val
		out = appendElem(out, e.ts, val)
	}
	return a.copy(out), nil
}

func (t *boltList[K, V]) drop() {
	clear(t.cache)
	clear(t.dirty)
}

func (t *boltList[K, V]) convert(r *record, now int64) (ek, val []byte, keep bool, err error) {
	ek, err = restoreEntryKey(t.b, t.info, r)
	if err != nil {
		return nil, nil, false, err
	}
	if _, err := restoreValue(t.codec, t.info, r, "element", r.value); err != nil {
		return nil, nil, false, err
	}
	ts, keep := t.ttl.restored(*r, now)
	return ek, appendElem(nil, ts, r.value), keep, nil
}
