package persistence

// cell is a stored value with its TTL timestamp (0 when TTL is off).
type cell[T any] struct {
	v  T
	ts int64
}

// scalar is the storage of a state holding one value per key: value,
// reducing and aggregating state. Its methods act on the current key.
type scalar[T any] interface {
	// get returns the current key's value. With rmw (the read of a
	// read-modify-write: Add) it does not refresh the timestamp, since a
	// write follows. An expired value is removed and, under
	// ReturnExpiredIfNotCleanedUp, returned by every read, rmw included:
	// as Flink's TTL reduce and aggregate functions do, Add then folds
	// into it.
	get(rmw bool) (T, bool)
	set(T)
	clear()
}

// scalarTable stores one cell per key.
type scalarTable[K comparable, T any] struct {
	b     *HeapBackend[K]
	m     map[K]cell[T]
	info  stateMeta
	codec Codec[T]
	field string // the descriptor field of codec, for errors
	ttl   ttlPolicy
	// accesses counts accesses, to sweep every sweepEvery.
	accesses uint32
}

var _ table[int] = (*scalarTable[int, int])(nil)

func newScalarTable[K comparable, T any](b *HeapBackend[K], m stateMeta, c Codec[T], field string) *scalarTable[K, T] {
	return &scalarTable[K, T]{
		b: b, m: make(map[K]cell[T]), info: m, codec: c, field: field,
		ttl: newTTLPolicy(m.ttl, b.cfg.Now),
	}
}

func (t *scalarTable[K, T]) meta() stateMeta { return t.info }

// tick starts an access (see the package's tick): a sweep removes the
// expired entries of a few other keys.
func (t *scalarTable[K, T]) tick() int64 {
	if !t.ttl.on() {
		return 0 // the hot path: no closure to build
	}
	return tick(t.ttl, &t.accesses, t.m, t.b.key, func(k K, c cell[T], now int64) {
		if t.ttl.expired(c.ts, now) {
			delete(t.m, k)
		}
	})
}

func (t *scalarTable[K, T]) get(rmw bool) (T, bool) {
	if !t.ttl.on() {
		c, ok := t.m[t.b.key]
		return c.v, ok
	}
	now := t.tick()
	k := t.b.key
	c, ok := t.m[k]
	switch {
	case !ok:
	case t.ttl.expired(c.ts, now):
		delete(t.m, k)
		ok = t.ttl.returnExpired // a read-modify-write too: Flink reduces into it
	case t.ttl.onRead && !rmw:
		c.ts = now
		t.m[k] = c
	}
	if !ok {
		var zero T
		return zero, false
	}
	return c.v, true
}

func (t *scalarTable[K, T]) set(v T) { t.m[t.b.key] = cell[T]{v: v, ts: t.tick()} }

func (t *scalarTable[K, T]) clear() {
	t.tick()
	delete(t.m, t.b.key)
}

func (t *scalarTable[K, T]) live(now int64) int {
	if !t.ttl.on() {
		return len(t.m)
	}
	n := 0
	for _, c := range t.m {
		if !t.ttl.expired(c.ts, now) {
			n++
		}
	}
	return n
}

func (t *scalarTable[K, T]) keys(now int64) []K {
	ks := make([]K, 0, len(t.m))
	for k, c := range t.m {
		if !t.ttl.expired(c.ts, now) {
			ks = append(ks, k)
		}
	}
	return ks
}

func (t *scalarTable[K, T]) snapshot(w *groupWriter[K]) error {
	if t.codec == nil {
		return configErr(t.info.name, "%s is nil, required by Snapshot", t.field)
	}
	now := t.ttl.stamp()
	w.begin(t.info)
	for k, c := range t.m {
		if t.ttl.expired(c.ts, now) {
			continue
		}
		if err := w.setKey(k); err != nil {
			return err
		}
		if err := writeEntry(w, t.codec, c.v, c.ts); err != nil {
			return err
		}
	}
	return nil
}

func (t *scalarTable[K, T]) restore(recs []record, now int64) (func(), error) {
	if len(recs) > 0 && t.codec == nil {
		return nil, configErr(t.info.name, "%s is nil, required by Restore", t.field)
	}
	m := make(map[K]cell[T], len(recs))
	for i := range recs {
		r := &recs[i]
		k, err := restoreKey(t.b, t.info, r)
		if err != nil {
			return nil, err
		}
		v, err := restoreValue(t.codec, t.info, r, "value", r.value)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, restoreErr(ErrCorrupt, t.info, r, "two entries for one key")
		}
		if ts, keep := t.ttl.restored(*r, now); keep {
			m[k] = cell[T]{v: v, ts: ts}
		}
	}
	return func() { t.m = m }, nil
}

// check has nothing to check: a cell needs no invariant.
func (t *scalarTable[K, T]) check() error { return nil }
