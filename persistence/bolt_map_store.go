package persistence

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// This file holds what a boltMap does with the file: flush and restore.

func (t *boltMap[K, UK, UV]) flush(bk *bolt.Bucket, a *arena) error {
	var ops []op
	for k, c := range t.cache {
		if !c.cleared && !anyDirty(c.entries) {
			continue
		}
		prefix, err := t.b.encodeKey(nil, k)
		if err != nil {
			return err
		}
		if c.cleared {
			if err := deletePrefix(bk, prefix); err != nil {
				return err
			}
			c.cleared = false
		}
		if ops, err = t.flushCell(ops, prefix, c, a); err != nil {
			return err
		}
	}
	return apply(bk, ops)
}

// flushCell appends the writes of c's dirty entries to ops, marking them
// clean.
func (t *boltMap[K, UK, UV]) flushCell(ops []op, prefix []byte, c *mapCell[UK, UV], a *arena) ([]op, error) {
	for uk, s := range c.entries {
		if !s.dirty {
			continue
		}
		ek, err := t.ukc.Append(append(t.buf[:0], prefix...), uk)
		if err != nil {
			return nil, fmt.Errorf("persistence: state %q: encode user key: %w", t.info.name, err)
		}
		t.buf = ek
		o := op{ek: a.copy(ek), del: !s.has}
		if s.has {
			val, err := t.uvc.Append(binary.AppendVarint(t.buf[:0], s.ts), s.v)
			if err != nil {
				return nil, fmt.Errorf("persistence: state %q: encode user value: %w", t.info.name, err)
			}
			t.buf = val
			o.val = a.copy(val)
		}
		ops = append(ops, o)
		s.dirty = false
		c.entries[uk] = s
	}
	return ops, nil
}

func anyDirty[UK comparable, UV any](entries map[UK]slot[UV]) bool {
	for _, s := range entries {
		if s.dirty {
			return true
		}
	}
	return false
}

func (t *boltMap[K, UK, UV]) drop() { clear(t.cache) }

func (t *boltMap[K, UK, UV]) convert(r *record, now int64) (ek, val []byte, keep bool, err error) {
	ek, err = restoreEntryKey(t.b, t.info, r)
	if err != nil {
		return nil, nil, false, err
	}
	uk, err := restoreValue(t.ukc, t.info, r, "user key", r.ukey)
	if err != nil {
		return nil, nil, false, err
	}
	if _, err := restoreValue(t.uvc, t.info, r, "user value", r.value); err != nil {
		return nil, nil, false, err
	}
	if ek, err = t.ukc.Append(ek, uk); err != nil {
		return nil, nil, false, restoreErr(ErrIncompatible, t.info, r, "encode user key: %w", err)
	}
	ts, keep := t.ttl.restored(*r, now)
	return ek, appendValue(nil, ts, r.value), keep, nil
}
