package persistence

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// sortStable sorts ops by entry key, keeping the order of equal keys (a
// list's elements).
func sortStable(ops []op) {
	slices.SortStableFunc(ops, func(x, y op) int { return bytes.Compare(x.ek, y.ek) })
}

// adoptPending converts the records restored for state t, which is being
// registered, into its entries, in batched transactions. If it fails, the
// records stay pending and nothing changes.
func (b *BoltBackend[K]) adoptPending(t boltTable) error {
	m := t.meta()
	w := newRestoreWriter(b, b.gen)
	w.tables[m.name] = t
	err := b.update(func(tx *bolt.Tx) error {
		g := tx.Bucket(genName(b.gen))
		if err := g.DeleteBucket([]byte(statePrefix + m.name)); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return bolted(err)
		}
		_, err := g.CreateBucket([]byte(statePrefix + m.name))
		return bolted(err)
	})
	for from := []byte{}; err == nil && from != nil; {
		var recs []record
		if recs, from, err = b.readPending(m.name, from, restoreBatch); err == nil {
			err = w.addAll(recs)
		}
	}
	if err == nil {
		err = w.commit()
	}
	if err != nil {
		_ = b.update(func(tx *bolt.Tx) error { // best effort: the bucket is not in use
			return tx.Bucket(genName(b.gen)).DeleteBucket([]byte(statePrefix + m.name))
		})
		return err
	}
	delete(b.pending, m.name)
	return b.update(func(tx *bolt.Tx) error {
		return bolted(tx.Bucket(genName(b.gen)).DeleteBucket([]byte(pendingPrefix + m.name)))
	})
}

func (w *restoreWriter[K]) addAll(recs []record) error {
	for _, r := range recs {
		if err := w.add(r); err != nil {
			return err
		}
	}
	return nil
}

// readPending reads up to n records restored for the named state, from
// key from on, and returns them with the key to read from next (nil at
// the end).
func (b *BoltBackend[K]) readPending(name string, from []byte, n int) ([]record, []byte, error) {
	tx, err := b.readTx()
	if err != nil {
		return nil, nil, err
	}
	c := tx.Bucket(genName(b.gen)).Bucket([]byte(pendingPrefix + name)).Cursor()
	var recs []record
	k, v := c.Seek(from)
	for ; k != nil && len(recs) < n; k, v = c.Next() {
		d := decoder{b: bytes.Clone(v), ctx: fmt.Sprintf("restored entries of state %q in %s", name, b.path)}
		r := parseRecord(&d, nil)
		d.done()
		if d.err != nil {
			return nil, nil, d.err
		}
		r.kg = int(binary.BigEndian.Uint16(k))
		recs = append(recs, r)
	}
	return recs, bytes.Clone(k), nil
}
