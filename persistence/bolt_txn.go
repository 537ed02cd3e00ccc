package persistence

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// boltErr marks an error of bbolt (or the disk) met inside one of our
// transaction functions; update wraps it in ErrStorage, naming the file,
// so that bbolt's error types never leak through our API. Other errors of
// our transaction functions (a codec's, ErrCorrupt…) pass unchanged.
type boltErr struct{ err error }

func (e boltErr) Error() string { return e.err.Error() }

// bolted marks err, if not nil, as bbolt's.
func bolted(err error) error {
	if err == nil {
		return nil
	}
	return boltErr{err}
}

func (b *BoltBackend[K]) storageErr(what string, err error) error {
	return fmt.Errorf("%w: %s bbolt state file %s: %v", ErrStorage, what, b.path, err)
}

func (b *BoltBackend[K]) closedErr() error {
	return fmt.Errorf("%w: bbolt state file %s", ErrClosed, b.path)
}

// update runs fn in a write transaction. It ends the read transaction
// first: bbolt cannot grow its file while one is open.
func (b *BoltBackend[K]) update(fn func(*bolt.Tx) error) error {
	if b.closed {
		return b.closedErr()
	}
	b.endRead()
	var fnErr error
	err := b.db.Update(func(tx *bolt.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	var be boltErr
	switch {
	case err == nil:
		return nil
	case fnErr == nil || errors.As(fnErr, &be):
		return b.storageErr("write", err)
	}
	return fnErr
}

// readTx returns the open read transaction, beginning one if need be. It
// stays open until the next write: it sees the file as of the last flush,
// and everything written since is in the caches.
func (b *BoltBackend[K]) readTx() (*bolt.Tx, error) {
	if b.closed {
		return nil, b.closedErr()
	}
	if b.rtx == nil {
		tx, err := b.db.Begin(false)
		if err != nil {
			return nil, b.storageErr("read", err)
		}
		b.rtx = tx
	}
	return b.rtx, nil
}

func (b *BoltBackend[K]) endRead() {
	if b.rtx != nil {
		_ = b.rtx.Rollback() // a read transaction: nothing to lose
		b.rtx = nil
	}
}

// bucket returns the named state's bucket in the read transaction; nil
// (after recording why) if there is none.
func (b *BoltBackend[K]) bucket(name string) *bolt.Bucket {
	tx, err := b.readTx()
	if err != nil {
		b.fail(err)
		return nil
	}
	return tx.Bucket(genName(b.gen)).Bucket([]byte(statePrefix + name))
}

// get returns a copy of the stored value of entry key ek of the named
// state; nil if there is none. A copy, because codecs may keep what they
// decode and the transaction's memory goes away.
func (b *BoltBackend[K]) get(name string, ek []byte) []byte {
	bk := b.bucket(name)
	if bk == nil {
		return nil
	}
	return bytes.Clone(bk.Get(ek))
}

// scan calls fn with copies of the entries of the named state whose keys
// start with prefix.
func (b *BoltBackend[K]) scan(name string, prefix []byte, fn func(ek, v []byte)) {
	bk := b.bucket(name)
	if bk == nil {
		return
	}
	c := bk.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		fn(bytes.Clone(k), bytes.Clone(v))
	}
}

// encodeKey appends the entry key prefix of key k.
func (b *BoltBackend[K]) encodeKey(dst []byte, k K) ([]byte, error) {
	kg := b.cfg.KeyGroupOf(k)
	if kg < 0 || kg >= maxBoltGroups {
		return dst, fmt.Errorf("%w: key %v is in key group %d, outside [0, %d)", ErrKeyGroup, k, kg, b.cfg.MaxParallelism)
	}
	enc, err := b.cfg.KeyCodec.Append(b.kbuf[:0], k)
	b.kbuf = enc
	if err != nil {
		return dst, fmt.Errorf("persistence: encode key %v with BackendConfig.KeyCodec: %w", k, err)
	}
	return appendEntryKey(dst, kg, enc), nil
}

// prefix returns the current key's entry key prefix; nil (after
// recording why) if the key cannot be encoded.
func (b *BoltBackend[K]) prefix() []byte {
	if !b.curOK {
		cur, err := b.encodeKey(b.cur[:0], b.key)
		if err != nil {
			b.fail(err)
			return nil
		}
		b.cur, b.curOK = cur, true
	}
	return b.cur
}
