package persistence

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// BoltSnapshot is a snapshot of a BoltBackend's keyed state taken at a
// checkpoint barrier and encoded later, off the subtask's goroutine, as
// Flink's asynchronous snapshots are: BeginSnapshot flushes the
// write-back cache and opens a bbolt read transaction, a consistent view
// of the file as of the barrier while the backend's writes go on; Size
// and Encode read that view and write what KeyedSnapshot.MarshalBinary
// writes for the backend's Snapshot, byte for byte, a record at a time:
// the state is never held in memory.
//
// The read transaction keeps bbolt from reusing the pages that later
// writes free, so the file grows while a snapshot is open: acceptable for
// a snapshot's duration, and why a snapshot must always be closed.
//
// A BoltSnapshot is used by one goroutine at a time: the one that began
// it may hand it to another. Its owner must Close it, whatever happened,
// before the backend's Close, which waits for it.
type BoltSnapshot struct {
	tx      *bolt.Tx
	path    string
	gen     uint64
	maxPar  int
	owned   Range
	now     int64
	sources []snapSource // in the order their records go within a key group
	// sizes holds the bytes of each owned key group once measured (nil
	// before); groups counts those that have records.
	sizes  []int64
	groups int
	rec    []byte // scratch: the record being written
	hdr    []byte // scratch: headers
	closed bool
}

// snapSource is one bucket a snapshot reads: a registered state's
// entries, or the records restored for a state not yet registered.
type snapSource struct {
	bucket  []byte
	pending bool
	m       stateMeta // of a registered state
	ttl     ttlPolicy
}

// snapCheckEvery is how many entries a snapshot reads between looks at
// its context.
const snapCheckEvery = 1024

// BeginSnapshot does at the barrier what a consistent snapshot needs and
// nothing more: it flushes the write-back cache and opens a read
// transaction. The work (a scan of the file) is left to the snapshot's
// Size and Encode. The error wraps ErrStorage or ErrClosed.
func (b *BoltBackend[K]) BeginSnapshot() (*BoltSnapshot, error) {
	if err := b.Flush(); err != nil {
		return nil, err
	}
	tx, err := b.db.Begin(false)
	if err != nil {
		return nil, b.storageErr("read", err)
	}
	s := &BoltSnapshot{tx: tx, path: b.path, gen: b.gen, maxPar: b.cfg.MaxParallelism,
		owned: b.cfg.KeyGroups, now: b.nowNanos()}
	for _, name := range slices.Sorted(maps.Keys(b.states)) {
		m := b.states[name].t.meta()
		s.sources = append(s.sources, snapSource{bucket: []byte(statePrefix + name), m: m, ttl: newTTLPolicy(m.ttl, nil)})
	}
	for _, name := range slices.Sorted(maps.Keys(b.pending)) {
		s.sources = append(s.sources, snapSource{bucket: []byte(pendingPrefix + name), pending: true})
	}
	return s, nil
}

// Size returns the length of the snapshot's encoding. The first call
// scans the read transaction to measure each key group. The error wraps
// ErrKeyGroup if a key is outside the owned key groups, ErrStorage for
// a malformed entry, ErrClosed, or ctx's error.
func (s *BoltSnapshot) Size(ctx context.Context) (int64, error) {
	if err := s.measure(ctx); err != nil {
		return 0, err
	}
	return sealedLen(s.payloadLen()), nil
}

// Encode writes the snapshot to w, sealed: the bytes of
// KeyedSnapshot.MarshalBinary, Size of them. It stops with ctx's error
// (its cause) if ctx ends first. Small writes: give it a buffered
// writer. The errors are those of Size and w's.
func (s *BoltSnapshot) Encode(ctx context.Context, w io.Writer) error {
	if err := s.measure(ctx); err != nil {
		return err
	}
	sw := newSealWriter(w, KindKeyed, s.payloadLen())
	s.hdr = binary.AppendUvarint(s.hdr[:0], uint64(s.maxPar))
	s.hdr = binary.AppendUvarint(s.hdr, uint64(s.groups))
	_, _ = sw.Write(s.hdr) // errors are sticky: Close returns them
	cur := -1
	err := s.each(ctx, func(kg int, rec []byte) error {
		if kg != cur {
			cur = kg
			s.hdr = binary.AppendUvarint(s.hdr[:0], uint64(kg))
			s.hdr = binary.AppendUvarint(s.hdr, uint64(s.sizes[kg-s.owned.Start]))
			_, _ = sw.Write(s.hdr)
		}
		_, err := sw.Write(rec)
		return err
	})
	if err != nil {
		return err
	}
	return sw.Close()
}

// Close ends the read transaction. It is safe to call more than once;
// Size and Encode then fail with ErrClosed.
func (s *BoltSnapshot) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.tx.Rollback(); err != nil {
		return fmt.Errorf("%w: end the snapshot's read transaction of bbolt state file %s: %v", ErrStorage, s.path, err)
	}
	return nil
}

// measure computes the bytes of each key group, once.
func (s *BoltSnapshot) measure(ctx context.Context) error {
	if s.closed {
		return fmt.Errorf("%w: snapshot of bbolt state file %s", ErrClosed, s.path)
	}
	if s.sizes != nil {
		return nil
	}
	sizes := make([]int64, s.owned.End-s.owned.Start)
	err := s.each(ctx, func(kg int, rec []byte) error {
		sizes[kg-s.owned.Start] += int64(len(rec))
		return nil
	})
	if err != nil {
		return err
	}
	s.sizes, s.groups = sizes, 0
	for _, n := range sizes {
		if n > 0 {
			s.groups++
		}
	}
	return nil
}

// payloadLen is the length of the KeyedSnapshot payload, once measured.
func (s *BoltSnapshot) payloadLen() int64 {
	n := int64(uvarintLen(uint64(s.maxPar)) + uvarintLen(uint64(s.groups)))
	for i, size := range s.sizes {
		if size > 0 {
			n += int64(uvarintLen(uint64(s.owned.Start+i))+uvarintLen(uint64(size))) + size
		}
	}
	return n
}

// each calls fn with every record of the snapshot, encoded, in the order
// of the encoding: by key group, and within one in the order of the
// sources, then of the bucket. The records pass through a buffer that
// fn must not keep. It merges the sources' cursors, which go once
// through their buckets: entry keys start with the key group.
func (s *BoltSnapshot) each(ctx context.Context, fn func(kg int, rec []byte) error) error {
	if s.closed {
		return fmt.Errorf("%w: snapshot of bbolt state file %s", ErrClosed, s.path)
	}
	curs, err := s.cursors()
	if err != nil {
		return err
	}
	read := 0
	for {
		kg := -1
		for i := range curs {
			if c := &curs[i]; c.k != nil && (kg < 0 || c.kg < kg) {
				kg = c.kg
			}
		}
		if kg < 0 {
			return nil
		}
		for i := range curs {
			for c := &curs[i]; c.k != nil && c.kg == kg; {
				if err := s.emit(c, fn); err != nil {
					return err
				}
				if err := s.advance(c); err != nil {
					return err
				}
				if read++; read%snapCheckEvery == 0 && ctx.Err() != nil {
					return fmt.Errorf("persistence: snapshot of bbolt state file %s: %w", s.path, context.Cause(ctx))
				}
			}
		}
	}
}

// snapCursor is a source's position: its current entry and key group.
type snapCursor struct {
	src  *snapSource
	c    *bolt.Cursor
	k, v []byte
	kg   int
	key  []byte // the entry's encoded key (registered states)
	ukey []byte // and user key
}

// cursors opens a cursor on each source, at its first entry.
func (s *BoltSnapshot) cursors() ([]snapCursor, error) {
	g := s.tx.Bucket(genName(s.gen))
	curs := make([]snapCursor, len(s.sources))
	for i := range s.sources {
		var bk *bolt.Bucket
		if g != nil {
			bk = g.Bucket(s.sources[i].bucket)
		}
		if bk == nil {
			return nil, fmt.Errorf("%w: bbolt state file %s has no bucket %q", ErrStorage, s.path, s.sources[i].bucket)
		}
		c := &curs[i]
		c.src, c.c = &s.sources[i], bk.Cursor()
		c.k, c.v = c.c.First()
		if err := s.parse(c); err != nil {
			return nil, err
		}
	}
	return curs, nil
}

func (s *BoltSnapshot) advance(c *snapCursor) error {
	c.k, c.v = c.c.Next()
	return s.parse(c)
}

// parse reads the key group (and the key) of c's entry, which must be
// owned.
func (s *BoltSnapshot) parse(c *snapCursor) error {
	if c.k == nil {
		return nil
	}
	var ok bool
	if c.src.pending {
		ok = len(c.k) >= 2
		if ok {
			c.kg = int(binary.BigEndian.Uint16(c.k))
		}
	} else {
		c.kg, _, c.key, c.ukey, ok = splitEntryKey(c.k)
	}
	if !ok {
		return s.badEntry(c)
	}
	if !s.owned.Contains(c.kg) {
		key := c.key
		if c.src.pending {
			key = c.k
		}
		return fmt.Errorf("%w: %s: key %q is in key group %d, outside the owned key groups %v",
			ErrKeyGroup, c.src, key, c.kg, s.owned)
	}
	return nil
}

// emit calls fn with the records of c's entry: a pending record as
// restored, or a state's unexpired entry (a list: each element).
func (s *BoltSnapshot) emit(c *snapCursor, fn func(kg int, rec []byte) error) error {
	if c.src.pending {
		return fn(c.kg, c.v)
	}
	m, ttl := c.src.m, c.src.ttl
	r := record{name: m.name, kind: m.kind, hasTS: ttl.on(), key: c.key, ukey: c.ukey}
	var err error
	write := func(ts int64, payload []byte) bool {
		if !ttl.expired(ts, s.now) {
			r.value, r.ts = payload, ts
			s.rec = appendRecord(s.rec[:0], &r)
			err = fn(c.kg, s.rec)
		}
		return err == nil
	}
	var ok bool
	if m.kind == kindList {
		ok = elems(c.v, write)
	} else {
		var ts int64
		var p []byte
		if ts, p, ok = splitValue(c.v); ok {
			write(ts, p)
		}
	}
	if err != nil {
		return err
	}
	if !ok {
		return s.badEntry(c)
	}
	return nil
}

func (s *BoltSnapshot) badEntry(c *snapCursor) error {
	return fmt.Errorf("%w: %s: malformed entry %q in bbolt state file %s", ErrStorage, c.src, c.k, s.path)
}

// String names the source's state for errors.
func (src *snapSource) String() string {
	if src.pending {
		return fmt.Sprintf("restored state %q", src.bucket[len(pendingPrefix):])
	}
	return fmt.Sprintf("state %q", src.m.name)
}
