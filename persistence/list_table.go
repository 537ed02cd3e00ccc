package persistence

import "fmt"

// listCell is one key's list. The map holds pointers so that appending
// costs one map lookup.
type listCell[V any] struct{ elems []cell[V] }

// listTable stores a list of timestamped elements per key.
type listTable[K comparable, V any] struct {
	b     *HeapBackend[K]
	m     map[K]*listCell[V]
	info  stateMeta
	codec Codec[V]
	ttl   ttlPolicy
	// accesses counts accesses, to sweep every sweepEvery.
	accesses uint32
}

var _ table[int] = (*listTable[int, int])(nil)

func (t *listTable[K, V]) meta() stateMeta { return t.info }

// tick starts an access (see the package's tick): a sweep prunes the
// expired elements of a few other keys' lists.
func (t *listTable[K, V]) tick() int64 {
	if !t.ttl.on() {
		return 0 // the hot path: no closure to build
	}
	return tick(t.ttl, &t.accesses, t.m, t.b.key, func(k K, c *listCell[V], now int64) { t.prune(k, c, now, nil) })
}

// prune removes k's expired elements, refreshing the timestamps of the
// others if refresh is set, and appends to out the values a read
// returns. It deletes k if its list becomes empty.
func (t *listTable[K, V]) prune(k K, c *listCell[V], now int64, out *[]V) {
	kept := c.elems[:0]
	for _, e := range c.elems {
		exp := t.ttl.expired(e.ts, now)
		if out != nil && (!exp || t.ttl.returnExpired) {
			*out = append(*out, e.v)
		}
		if exp {
			continue
		}
		if out != nil && t.ttl.onRead {
			e.ts = now
		}
		kept = append(kept, e)
	}
	clear(c.elems[len(kept):]) // let the collector have the removed values
	c.elems = kept
	if len(kept) == 0 {
		delete(t.m, k)
	}
}

func (t *listTable[K, V]) get() []V {
	now := t.tick()
	c := t.m[t.b.key]
	if c == nil {
		return nil
	}
	out := make([]V, 0, len(c.elems))
	t.prune(t.b.key, c, now, &out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func (t *listTable[K, V]) add(vs ...V) {
	if len(vs) == 0 {
		return
	}
	now := t.tick()
	c := t.m[t.b.key]
	if c == nil {
		c = &listCell[V]{elems: make([]cell[V], 0, len(vs))}
		t.m[t.b.key] = c
	}
	for _, v := range vs {
		c.elems = append(c.elems, cell[V]{v: v, ts: now})
	}
}

func (t *listTable[K, V]) update(vs []V) {
	t.clear()
	t.add(vs...)
}

func (t *listTable[K, V]) clear() {
	t.tick()
	delete(t.m, t.b.key)
}

// hasLive reports whether c has an element unexpired at now.
func (t *listTable[K, V]) hasLive(c *listCell[V], now int64) bool {
	for _, e := range c.elems {
		if !t.ttl.expired(e.ts, now) {
			return true
		}
	}
	return false
}

func (t *listTable[K, V]) live(now int64) int {
	n := 0
	for _, c := range t.m {
		if t.hasLive(c, now) {
			n++
		}
	}
	return n
}

func (t *listTable[K, V]) keys(now int64) []K {
	ks := make([]K, 0, len(t.m))
	for k, c := range t.m {
		if t.hasLive(c, now) {
			ks = append(ks, k)
		}
	}
	return ks
}

func (t *listTable[K, V]) snapshot(w *groupWriter[K]) error {
	if t.codec == nil {
		return configErr(t.info.name, "ListDescriptor.Codec is nil, required by Snapshot")
	}
	now := t.ttl.stamp()
	w.begin(t.info)
	for k, c := range t.m {
		if !t.hasLive(c, now) {
			continue
		}
		if err := w.setKey(k); err != nil {
			return err
		}
		for _, e := range c.elems {
			if t.ttl.expired(e.ts, now) {
				continue
			}
			if err := writeEntry(w, t.codec, e.v, e.ts); err != nil {
				return err
			}
		}
	}
	return nil
}

// restore appends the elements of each key in the order of recs, which is
// the order they were snapshotted in.
func (t *listTable[K, V]) restore(recs []record, now int64) (func(), error) {
	if len(recs) > 0 && t.codec == nil {
		return nil, configErr(t.info.name, "ListDescriptor.Codec is nil, required by Restore")
	}
	m := make(map[K]*listCell[V])
	for i := range recs {
		r := &recs[i]
		k, err := restoreKey(t.b, t.info, r)
		if err != nil {
			return nil, err
		}
		v, err := restoreValue(t.codec, t.info, r, "element", r.value)
		if err != nil {
			return nil, err
		}
		ts, keep := t.ttl.restored(*r, now)
		if !keep {
			continue
		}
		c := m[k]
		if c == nil {
			c = &listCell[V]{}
			m[k] = c
		}
		c.elems = append(c.elems, cell[V]{v: v, ts: ts})
	}
	return func() { t.m = m }, nil
}

// check verifies that no key holds an empty list: removing the last
// element must remove the key, or Keys and Entries would count it.
func (t *listTable[K, V]) check() error {
	for k, c := range t.m {
		if c == nil || len(c.elems) == 0 {
			return fmt.Errorf("persistence: list state %q: key %v has an empty list", t.info.name, k)
		}
	}
	return nil
}
