package persistence

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// DropRestored removes restored map entries of the current key from the
// states that are not registered yet and whose names begin with prefix:
// those whose encoded user key drop reports. An operator that clears
// state on behalf of user code (a window's per-window state at the
// window's cleanup) can so clear the states the code has not asked for
// since the restore, which it cannot register itself without their
// types; registering such a state later moves in only the entries left.
// Records of states of other kinds than map are never passed to drop.
// The error wraps ErrConfig if the key cannot be encoded, or ErrStorage
// or ErrClosed (bbolt).
func DropRestored[K comparable](b Backend[K], prefix string, drop func(state string, userKey []byte) bool) error {
	return b.dropRestored(prefix, drop)
}

// restoredMaps returns the names, sorted, of the states in pending whose
// kind is map and whose names begin with prefix.
func restoredMaps[V any](pending map[string]V, kind func(V) stateKind, prefix string) []string {
	var names []string
	for name, v := range pending {
		if strings.HasPrefix(name, prefix) && kind(v) == kindMap {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func recordsKind(recs []record) stateKind {
	if len(recs) == 0 {
		return 0
	}
	return recs[0].kind
}

// dropRestored marks the matching records dropped; snapshots and the
// state's registration skip them. The records of a state are indexed by
// key on the first drop, so that each drop reads the key's records only.
func (b *HeapBackend[K]) dropRestored(prefix string, drop func(string, []byte) bool) error {
	names := restoredMaps(b.pending, recordsKind, prefix)
	if len(names) == 0 {
		return nil
	}
	if b.cfg.KeyCodec == nil {
		return fmt.Errorf("%w: BackendConfig.KeyCodec is nil, required by DropRestored", ErrConfig)
	}
	// Restored keys are compared as encoded: the job's key codec wrote
	// them, and encodes the current key the same way.
	key, err := b.cfg.KeyCodec.Append(nil, b.key)
	if err != nil {
		return fmt.Errorf("%w: encode key %v with BackendConfig.KeyCodec: %v", ErrConfig, b.key, err)
	}
	for _, name := range names {
		recs := b.pending[name]
		for _, i := range b.pendingByKey(name)[string(key)] {
			if r := &recs[i]; !r.dropped && drop(name, r.ukey) {
				r.dropped = true
			}
		}
	}
	return nil
}

// pendingByKey returns the index of the named state's pending records by
// encoded key, building it if need be.
func (b *HeapBackend[K]) pendingByKey(name string) map[string][]int {
	if idx, ok := b.byKey[name]; ok {
		return idx
	}
	idx := make(map[string][]int)
	for i, r := range b.pending[name] {
		idx[string(r.key)] = append(idx[string(r.key)], i)
	}
	if b.byKey == nil {
		b.byKey = make(map[string]map[string][]int)
	}
	b.byKey[name] = idx
	return idx
}

// livePending returns the named state's pending records that are not
// dropped.
func (b *HeapBackend[K]) livePending(name string) []record {
	recs := b.pending[name]
	if _, indexed := b.byKey[name]; !indexed {
		return recs // nothing dropped
	}
	return slices.DeleteFunc(slices.Clone(recs), func(r record) bool { return r.dropped })
}

// setPending replaces the pending records, dropping the indexes.
func (b *HeapBackend[K]) setPending(p map[string][]record) {
	b.pending, b.byKey = p, nil
}

// dropRestored deletes the matching records from their buckets: with the
// records keyed by key group and key, a drop reads the key's records
// only.
func (b *BoltBackend[K]) dropRestored(prefix string, drop func(string, []byte) bool) error {
	names := restoredMaps(b.pending, func(k stateKind) stateKind { return k }, prefix)
	if len(names) == 0 {
		return nil
	}
	if b.closed {
		return b.closedErr()
	}
	p := b.prefix()
	if p == nil {
		return b.err
	}
	return b.update(func(tx *bolt.Tx) error {
		g := tx.Bucket(genName(b.gen))
		for _, name := range names {
			if err := dropPendingOf(g.Bucket([]byte(pendingPrefix+name)), name, p, drop); err != nil {
				return err
			}
		}
		return nil
	})
}

// dropPendingOf deletes from bk, the pending bucket of state name, the
// records of the key whose entry key prefix is p that drop reports.
func dropPendingOf(bk *bolt.Bucket, name string, p []byte, drop func(string, []byte) bool) error {
	var gone [][]byte
	c := bk.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && len(k) == len(p)+8; k, v = c.Next() {
		d := decoder{b: v, ctx: "restored entries of state " + name}
		r := parseRecord(&d, nil)
		d.done()
		if d.err != nil {
			return d.err
		}
		if drop(name, r.ukey) {
			gone = append(gone, bytes.Clone(k))
		}
	}
	for _, k := range gone { // deleted after the scan: a cursor must not see its bucket change
		if err := bk.Delete(k); err != nil {
			return bolted(err)
		}
	}
	return nil
}
