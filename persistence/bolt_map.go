package persistence

import (
	"fmt"
	"iter"
)

// boltMap stores map state in a BoltBackend: one entry per (key, user
// key), cached decoded per key.
type boltMap[K comparable, UK comparable, UV any] struct {
	b     *BoltBackend[K]
	info  stateMeta
	ukc   Codec[UK]
	uvc   Codec[UV]
	ttl   ttlPolicy
	cache map[K]*mapCell[UK, UV]
	buf   []byte // scratch for encoded entries
}

// mapCell is the cached part of one key's map.
type mapCell[UK comparable, UV any] struct {
	entries map[UK]slot[UV]
	// complete says that entries holds every user key of the key: a
	// missing one is absent, not just uncached.
	complete bool
	// cleared says that the key's entries in the file are to be deleted
	// before its dirty entries are written.
	cleared bool
}

var _ boltTable = (*boltMap[int, int, int])(nil)

func newBoltMap[K comparable, UK comparable, UV any](b *BoltBackend[K], m stateMeta, ukc Codec[UK], uvc Codec[UV]) (*boltMap[K, UK, UV], error) {
	switch {
	case ukc == nil:
		return nil, configErr(m.name, "MapDescriptor.KeyCodec is nil, required by the bbolt backend")
	case uvc == nil:
		return nil, configErr(m.name, "MapDescriptor.ValueCodec is nil, required by the bbolt backend")
	}
	return &boltMap[K, UK, UV]{b: b, info: m, ukc: ukc, uvc: uvc, ttl: newTTLPolicy(m.ttl, b.cfg.Now),
		cache: make(map[K]*mapCell[UK, UV])}, nil
}

func (t *boltMap[K, UK, UV]) meta() stateMeta { return t.info }

// cell returns key k's cell, creating an empty one on a miss.
func (t *boltMap[K, UK, UV]) cell(k K) *mapCell[UK, UV] {
	c, ok := t.cache[k]
	if !ok {
		c = &mapCell[UK, UV]{entries: make(map[UK]slot[UV])}
		t.cache[k] = c
		t.b.cached++
	}
	return c
}

// slot returns the current key's entry for uk, loading it on a miss.
func (t *boltMap[K, UK, UV]) slot(uk UK) slot[UV] {
	c := t.cell(t.b.key)
	if s, ok := c.entries[uk]; ok || c.complete {
		return s
	}
	var s slot[UV]
	if prefix := t.b.prefix(); prefix != nil {
		ek, err := t.ukc.Append(append([]byte(nil), prefix...), uk)
		if err != nil {
			t.b.fail(fmt.Errorf("persistence: state %q: encode user key: %w", t.info.name, err))
		} else if raw := t.b.get(t.info.name, ek); raw != nil {
			s = t.decode(raw)
		}
	}
	c.entries[uk] = s
	t.b.cached++
	return s
}

func (t *boltMap[K, UK, UV]) decode(raw []byte) slot[UV] {
	ts, payload, ok := splitValue(raw)
	v, err := t.uvc.Decode(payload)
	if !ok || err != nil {
		t.b.fail(fmt.Errorf("%w: state %q: bad entry in bbolt state file %s: %v", ErrStorage, t.info.name, t.b.path, err))
		return slot[UV]{}
	}
	return slot[UV]{v: v, ts: ts, has: true}
}

// loadAll makes key k's cell complete.
func (t *boltMap[K, UK, UV]) loadAll(k K) *mapCell[UK, UV] {
	c := t.cell(k)
	if c.complete {
		return c
	}
	prefix, err := t.b.encodeKey(nil, k)
	if err != nil {
		t.b.fail(err)
	} else {
		t.b.scan(t.info.name, prefix, func(ek, v []byte) {
			_, _, _, ukey, _ := splitEntryKey(ek)
			uk, err := t.ukc.Decode(ukey)
			if err != nil {
				t.b.fail(fmt.Errorf("%w: state %q: bad user key in bbolt state file %s: %v", ErrStorage, t.info.name, t.b.path, err))
				return
			}
			if _, ok := c.entries[uk]; !ok {
				c.entries[uk] = t.decode(v)
				t.b.cached++
			}
		})
	}
	c.complete = true
	return c
}

// read applies TTL to an entry a read found: it returns whether the read
// sees it, removing it if expired and refreshing it if configured.
func (t *boltMap[K, UK, UV]) read(c *mapCell[UK, UV], uk UK, s slot[UV], now int64) bool {
	switch {
	case t.ttl.expired(s.ts, now):
		c.entries[uk] = slot[UV]{dirty: true}
		t.b.dirty = true
		return t.ttl.returnExpired
	case t.ttl.onRead:
		s.ts, s.dirty = now, true
		c.entries[uk] = s
		t.b.dirty = true
	}
	return true
}

func (t *boltMap[K, UK, UV]) get(uk UK) (UV, bool) {
	defer t.b.settle()
	s := t.slot(uk)
	ok := s.has
	if ok && t.ttl.on() {
		ok = t.read(t.cache[t.b.key], uk, s, t.ttl.stamp())
	}
	if !ok {
		var zero UV
		return zero, false
	}
	return s.v, true
}

func (t *boltMap[K, UK, UV]) put(uk UK, uv UV) {
	t.write(uk, slot[UV]{v: uv, ts: t.ttl.stamp(), has: true, dirty: true})
}

func (t *boltMap[K, UK, UV]) remove(uk UK) { t.write(uk, slot[UV]{dirty: true}) }

func (t *boltMap[K, UK, UV]) write(uk UK, s slot[UV]) {
	c := t.cell(t.b.key)
	if _, ok := c.entries[uk]; !ok {
		t.b.cached++
	}
	c.entries[uk] = s
	t.b.dirty = true
	t.b.settle()
}

func (t *boltMap[K, UK, UV]) all() iter.Seq2[UK, UV] {
	k := t.b.key
	return func(yield func(UK, UV) bool) {
		c := t.loadAll(k)
		now := t.ttl.stamp()
		for uk, s := range c.entries {
			if !s.has || t.ttl.on() && !t.read(c, uk, s, now) {
				continue
			}
			if !yield(uk, s.v) {
				return
			}
		}
	}
}

func (t *boltMap[K, UK, UV]) len() int {
	defer t.b.settle()
	c := t.loadAll(t.b.key)
	n, now := 0, t.ttl.stamp()
	for _, s := range c.entries {
		if s.has && (!t.ttl.on() || t.ttl.returnExpired || !t.ttl.expired(s.ts, now)) {
			n++
		}
	}
	return n
}

func (t *boltMap[K, UK, UV]) clear() {
	old := t.cell(t.b.key)
	t.b.cached -= len(old.entries)
	t.cache[t.b.key] = &mapCell[UK, UV]{entries: make(map[UK]slot[UV]), complete: true, cleared: true}
	t.b.dirty = true
}
