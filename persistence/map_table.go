package persistence

import (
	"fmt"
	"iter"
)

// mapTable stores a map of timestamped user values per key.
type mapTable[K comparable, UK comparable, UV any] struct {
	b       *HeapBackend[K]
	m       map[K]map[UK]cell[UV]
	info    stateMeta
	ukCodec Codec[UK]
	uvCodec Codec[UV]
	ttl     ttlPolicy
	// accesses counts accesses, to sweep every sweepEvery.
	accesses uint32
	// cur is m[b.key] as read when the backend's key generation was
	// curGen (0: not read since m last lost or replaced a key's map): a
	// record's accesses to one map state then look up its key once.
	cur    map[UK]cell[UV]
	curGen uint64
}

var _ table[int] = (*mapTable[int, int, int])(nil)

func (t *mapTable[K, UK, UV]) meta() stateMeta { return t.info }

// tick starts an access (see the package's tick): a sweep prunes the
// expired entries of a few other keys' maps.
func (t *mapTable[K, UK, UV]) tick() int64 {
	if !t.ttl.on() {
		return 0 // the hot path: no closure to build
	}
	return tick(t.ttl, &t.accesses, t.m, t.b.key, t.prune)
}

// prune removes the expired entries of key k.
func (t *mapTable[K, UK, UV]) prune(k K, inner map[UK]cell[UV], now int64) {
	for uk, c := range inner {
		if t.ttl.expired(c.ts, now) {
			delete(inner, uk)
		}
	}
	t.dropIfEmpty(k)
}

func (t *mapTable[K, UK, UV]) dropIfEmpty(k K) {
	if inner, ok := t.m[k]; ok && len(inner) == 0 {
		delete(t.m, k)
		t.curGen = 0
	}
}

// inner returns the current key's map, nil if it has none.
func (t *mapTable[K, UK, UV]) inner() map[UK]cell[UV] {
	if t.curGen != t.b.gen {
		t.cur, t.curGen = t.m[t.b.key], t.b.gen
	}
	return t.cur
}

// read applies TTL to an entry found by a read: it returns whether the
// read sees it, removing it if expired and refreshing it if configured.
func (t *mapTable[K, UK, UV]) read(inner map[UK]cell[UV], uk UK, c cell[UV], now int64) bool {
	switch {
	case t.ttl.expired(c.ts, now):
		delete(inner, uk)
		return t.ttl.returnExpired
	case t.ttl.onRead:
		c.ts = now
		inner[uk] = c
	}
	return true
}

func (t *mapTable[K, UK, UV]) get(uk UK) (UV, bool) {
	now := t.tick()
	inner := t.inner()
	c, ok := inner[uk]
	if ok && t.ttl.on() {
		ok = t.read(inner, uk, c, now)
		t.dropIfEmpty(t.b.key)
	}
	if !ok {
		var zero UV
		return zero, false
	}
	return c.v, true
}

func (t *mapTable[K, UK, UV]) put(uk UK, uv UV) {
	now := t.tick()
	inner := t.inner()
	if inner == nil {
		inner = make(map[UK]cell[UV])
		t.m[t.b.key] = inner
		t.cur = inner
	}
	inner[uk] = cell[UV]{v: uv, ts: now}
}

func (t *mapTable[K, UK, UV]) remove(uk UK) {
	t.tick()
	if inner := t.inner(); inner != nil {
		delete(inner, uk)
		if len(inner) == 0 {
			delete(t.m, t.b.key)
			t.curGen = 0
		}
	}
}

func (t *mapTable[K, UK, UV]) all() iter.Seq2[UK, UV] {
	k := t.b.key
	return func(yield func(UK, UV) bool) {
		now := t.tick()
		defer t.dropIfEmpty(k)
		inner := t.m[k]
		for uk, c := range inner {
			if t.ttl.on() && !t.read(inner, uk, c, now) {
				continue
			}
			if !yield(uk, c.v) {
				return
			}
		}
	}
}

func (t *mapTable[K, UK, UV]) len() int {
	now := t.tick()
	inner := t.inner()
	if !t.ttl.on() || t.ttl.returnExpired {
		return len(inner)
	}
	n := 0
	for _, c := range inner {
		if !t.ttl.expired(c.ts, now) {
			n++
		}
	}
	return n
}

func (t *mapTable[K, UK, UV]) clear() {
	t.tick()
	delete(t.m, t.b.key)
	t.curGen = 0
}

func (t *mapTable[K, UK, UV]) hasLive(inner map[UK]cell[UV], now int64) bool {
	for _, c := range inner {
		if !t.ttl.expired(c.ts, now) {
			return true
		}
	}
	return false
}

func (t *mapTable[K, UK, UV]) live(now int64) int {
	n := 0
	for _, inner := range t.m {
		if t.hasLive(inner, now) {
			n++
		}
	}
	return n
}

func (t *mapTable[K, UK, UV]) keys(now int64) []K {
	ks := make([]K, 0, len(t.m))
	for k, inner := range t.m {
		if t.hasLive(inner, now) {
			ks = append(ks, k)
		}
	}
	return ks
}

func (t *mapTable[K, UK, UV]) snapshot(w *groupWriter[K]) error {
	if err := t.needCodecs("Snapshot"); err != nil {
		return err
	}
	now := t.ttl.stamp()
	w.begin(t.info)
	for k, inner := range t.m {
		if !t.hasLive(inner, now) {
			continue
		}
		if err := w.setKey(k); err != nil {
			return err
		}
		for uk, c := range inner {
			if t.ttl.expired(c.ts, now) {
				continue
			}
			if err := setUserKey(w, t.ukCodec, uk); err != nil {
				return err
			}
			if err := writeEntry(w, t.uvCodec, c.v, c.ts); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *mapTable[K, UK, UV]) needCodecs(by string) error {
	switch {
	case t.ukCodec == nil:
		return configErr(t.info.name, "MapDescriptor.KeyCodec is nil, required by %s", by)
	case t.uvCodec == nil:
		return configErr(t.info.name, "MapDescriptor.ValueCodec is nil, required by %s", by)
	}
	return nil
}

func (t *mapTable[K, UK, UV]) restore(recs []record, now int64) (func(), error) {
	if len(recs) > 0 {
		if err := t.needCodecs("Restore"); err != nil {
			return nil, err
		}
	}
	m := make(map[K]map[UK]cell[UV])
	for i := range recs {
		if err := t.restoreOne(m, &recs[i], now); err != nil {
			return nil, err
		}
	}
	return func() { t.m, t.curGen = m, 0 }, nil
}

func (t *mapTable[K, UK, UV]) restoreOne(m map[K]map[UK]cell[UV], r *record, now int64) error {
	k, err := restoreKey(t.b, t.info, r)
	if err != nil {
		return err
	}
	uk, err := restoreValue(t.ukCodec, t.info, r, "user key", r.ukey)
	if err != nil {
		return err
	}
	uv, err := restoreValue(t.uvCodec, t.info, r, "user value", r.value)
	if err != nil {
		return err
	}
	inner := m[k]
	if _, dup := inner[uk]; dup {
		return restoreErr(ErrCorrupt, t.info, r, "two entries for one user key")
	}
	ts, keep := t.ttl.restored(*r, now)
	if !keep {
		return nil
	}
	if inner == nil {
		inner = make(map[UK]cell[UV])
		m[k] = inner
	}
	inner[uk] = cell[UV]{v: uv, ts: ts}
	return nil
}

// check verifies that no key holds an empty map: removing the last user
// key must remove the key, or Keys and Entries would count it.
func (t *mapTable[K, UK, UV]) check() error {
	for k, inner := range t.m {
		if len(inner) == 0 {
			return fmt.Errorf("persistence: map state %q: key %v has an empty map", t.info.name, k)
		}
	}
	return nil
}
