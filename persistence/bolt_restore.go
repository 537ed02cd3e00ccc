package persistence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// restoreBatch is how many entries a Restore (or the registration of a
// state with restored entries) writes per bbolt transaction.
const restoreBatch = 1 << 16

// Restore replaces the backend's state with the entries of snaps that lie
// in its own key groups, as HeapBackend.Restore does, and with the same
// errors (and ErrStorage or ErrClosed). The entries go to a new
// generation of buckets, written in batched transactions, which replaces
// the current one only when all are written: Restore changes nothing if
// it fails. Unflushed changes are dropped.
func (b *BoltBackend[K]) Restore(snaps ...*KeyedSnapshot) error {
	if b.closed {
		return b.closedErr()
	}
	w := newRestoreWriter(b, b.gen+1)
	for name, r := range b.states {
		w.tables[name] = r.t
	}
	if err := b.update(w.createGen); err != nil {
		return err
	}
	err := ownedGroups(&b.cfg, snaps, func(i, kg int, data []byte) error {
		return parseGroup(fmt.Sprintf("restore, snapshot %d", i), data, kg, w.names, w.add)
	})
	if err == nil {
		err = w.commit()
	}
	if err != nil {
		_ = b.update(func(tx *bolt.Tx) error { return tx.DeleteBucket(genName(w.gen)) }) // best effort
		return err
	}
	old := b.gen
	b.gen, b.pending, b.dirty = w.gen, w.pending, false
	b.dropCaches()
	for _, r := range b.states {
		r.sweep = nil
	}
	return b.update(func(tx *bolt.Tx) error { return bolted(tx.DeleteBucket(genName(old))) })
}

// restoreWriter writes restored records into a generation of buckets,
// restoreBatch entries per transaction.
type restoreWriter[K comparable] struct {
	b       *BoltBackend[K]
	gen     uint64
	now     int64
	tables  map[string]boltTable // the states whose records are converted
	kinds   map[string]stateKind // the kind of each state name seen
	pending map[string]stateKind // the states kept as records
	names   map[string]string    // interned state names
	batches map[string]*batch    // by bucket name
	n       int                  // entries in batches
	seq     uint64               // the next pending record's number
}

// batch is the writes of one bucket in one transaction.
type batch struct {
	m   stateMeta // of the state; zero for pending records
	ops []op
}

func newRestoreWriter[K comparable](b *BoltBackend[K], gen uint64) *restoreWriter[K] {
	return &restoreWriter[K]{b: b, gen: gen, now: b.nowNanos(), tables: make(map[string]boltTable),
		kinds: make(map[string]stateKind), pending: make(map[string]stateKind),
		names: make(map[string]string), batches: make(map[string]*batch)}
}

// createGen creates the generation's bucket, with the registered states'
// buckets in it.
func (w *restoreWriter[K]) createGen(tx *bolt.Tx) error {
	if err := tx.DeleteBucket(genName(w.gen)); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
		return bolted(err)
	}
	g, err := tx.CreateBucket(genName(w.gen))
	for name := range w.tables {
		if err == nil {
			_, err = g.CreateBucket([]byte(statePrefix + name))
		}
	}
	return bolted(err)
}

// add converts a record for its state, or keeps it as is for a state not
// registered, and commits when the batch is full.
func (w *restoreWriter[K]) add(r record) error {
	if k, ok := w.kinds[r.name]; ok && k != r.kind {
		return kindMixErr(r, k)
	}
	w.kinds[r.name] = r.kind
	if t, ok := w.tables[r.name]; ok {
		ek, val, keep, err := t.convert(&r, w.now)
		if err != nil || !keep {
			return err
		}
		w.put(statePrefix+r.name, t.meta(), op{ek: ek, val: val})
	} else {
		w.pending[r.name] = r.kind
		ek := binary.BigEndian.AppendUint64(appendEntryKey(nil, r.kg, r.key), w.seq)
		w.seq++
		w.put(pendingPrefix+r.name, stateMeta{}, op{ek: ek, val: appendRecord(nil, &r)})
	}
	if w.n >= restoreBatch {
		return w.commit()
	}
	return nil
}

func (w *restoreWriter[K]) put(bucket string, m stateMeta, o op) {
	bt := w.batches[bucket]
	if bt == nil {
		bt = &batch{m: m}
		w.batches[bucket] = bt
	}
	bt.ops = append(bt.ops, o)
	w.n++
}

// commit writes the batches in one transaction.
func (w *restoreWriter[K]) commit() error {
	if w.n == 0 {
		return nil
	}
	err := w.b.update(func(tx *bolt.Tx) error {
		g := tx.Bucket(genName(w.gen))
		for name, bt := range w.batches {
			bk, err := g.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return bolted(err)
			}
			if err := bt.write(bk); err != nil {
				return err
			}
		}
		return nil
	})
	clear(w.batches)
	w.n = 0
	return err
}

// write writes a batch's entries into bk: pending records as they are; a
// list's elements appended to the key's list; other entries once only.
func (bt *batch) write(bk *bolt.Bucket) error {
	if bt.m.name == "" {
		return apply(bk, bt.ops)
	}
	ops := bt.ops
	sortStable(ops)
	for i := 0; i < len(ops); {
		j := i + 1
		for j < len(ops) && bytes.Equal(ops[j].ek, ops[i].ek) {
			j++
		}
		val, err := bt.merge(bk.Get(ops[i].ek), ops[i:j])
		if err != nil {
			return err
		}
		if err := bk.Put(ops[i].ek, val); err != nil {
			return bolted(err)
		}
		i = j
	}
	return nil
}

// merge returns the value of one entry key written by ops, given the
// value stored before (nil if none).
func (bt *batch) merge(old []byte, ops []op) ([]byte, error) {
	if bt.m.kind == kindList {
		val := bytes.Clone(old)
		for _, o := range ops {
			val = append(val, o.val...)
		}
		return val, nil
	}
	if len(ops) > 1 || old != nil {
		kg, _, _, _, _ := splitEntryKey(ops[0].ek)
		what := "key"
		if bt.m.kind == kindMap {
			what = "user key"
		}
		return nil, restoreErr(ErrCorrupt, bt.m, &record{kg: kg}, "two entries for one %s", what)
	}
	return ops[0].val, nil
}

// restoreEntryKey checks that r belongs to a state like m and returns its
// entry key prefix: its key decoded and encoded again, since lookups
// encode keys with the backend's codec.
func restoreEntryKey[K comparable](b *BoltBackend[K], m stateMeta, r *record) ([]byte, error) {
	k, err := decodeKey(b.cfg.KeyCodec, m, r)
	if err != nil {
		return nil, err
	}
	ek, err := b.encodeKey(nil, k)
	if err != nil {
		return nil, restoreErr(ErrIncompatible, m, r, "%w", err)
	}
	return ek, nil
}
