package persistence

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BoltBackend keeps keyed state in a bbolt file, for state larger than
// memory: one bucket per state, one entry per key (per user key for map
// state), encoded with the state's codecs. Accesses go through a
// write-back cache of decoded entries (BackendConfig.CacheEntries): reads
// consult it first and load misses from bbolt; writes stay in it until
// Flush, Snapshot, Keys or Entries, or until it outgrows its bound, write
// the changed entries in one bbolt transaction.
//
// Its snapshots are those a HeapBackend with the same state would take,
// and either backend restores the other's. The file is scratch space:
// state is recovered from snapshots, never from the file.
//
// A BoltBackend is owned by one subtask and must never be called
// concurrently, nor any of its states.
type BoltBackend[K comparable] struct {
	cfg   BackendConfig[K]
	path  string
	db    *bolt.DB
	key   K
	cur   []byte // the current key's entry key prefix, if curOK
	curOK bool
	kbuf  []byte // scratch for encoded keys
	// states holds the registered states; pending the kinds of restored
	// states not yet registered (buckets "p/" + name).
	states  map[string]*boltReg
	pending map[string]stateKind
	gen     uint64   // the current generation of buckets
	rtx     *bolt.Tx // the open read transaction, if any
	cached  int      // entries in the caches
	dirty   bool     // the caches hold changes
	err     error    // the first storage error; sticky
	closed  bool
}

// boltReg is one registered state of a BoltBackend.
type boltReg struct {
	t     boltTable
	state any
	sweep []byte // where the next TTL sweep of its bucket starts
}

// boltTable is the storage of one state in a BoltBackend: a cache over
// its bucket.
type boltTable interface {
	meta() stateMeta
	// flush writes the cache's changed entries to bk and marks them clean.
	flush(bk *bolt.Bucket, a *arena) error
	// drop empties the cache.
	drop()
	// convert checks a restored record against the state and returns its
	// entry key and value (a list: one element), or keep false if its
	// TTL has expired.
	convert(r *record, now int64) (ek, val []byte, keep bool, err error)
}

// boltOpenTimeout bounds the wait for a file that another BoltBackend
// (or process) holds open: bbolt would otherwise wait forever.
const boltOpenTimeout = time.Second

// boltMmapSize is the address space mapped for a file from the start. A
// write that grows the file past the mapped size must remap it, which
// waits for every read transaction to end: with a snapshot being written
// (BeginSnapshot), the subtask would stall until the write is done. Below
// this size it never does. It costs address space, not memory (the
// file grows as it is written); 8 GiB on 64-bit platforms, 256 MiB on
// 32-bit ones.
const boltMmapSize = 1 << (28 + 5*(strconv.IntSize/64))

// NewBoltBackend returns an empty backend over the bbolt file at path,
// which it creates if need be; an existing file is emptied, since state
// comes from Restore. cfg.KeyCodec is required. The error wraps ErrConfig
// and names the bad field, or wraps ErrStorage and names the file.
func NewBoltBackend[K comparable](cfg BackendConfig[K], path string) (*BoltBackend[K], error) {
	if cfg.KeyGroups == (Range{}) {
		cfg.KeyGroups = Range{0, cfg.MaxParallelism}
	}
	if err := validateBolt(&cfg); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: boltOpenTimeout, NoSync: true,
		NoFreelistSync: true, FreelistType: bolt.FreelistMapType, InitialMmapSize: boltMmapSize})
	if err != nil {
		return nil, fmt.Errorf("%w: open bbolt state file %s: %v", ErrStorage, path, err)
	}
	b := &BoltBackend[K]{cfg: cfg, path: path, db: db, gen: 1,
		states: make(map[string]*boltReg), pending: make(map[string]stateKind)}
	if err := b.update(resetBuckets); err != nil {
		_ = db.Close()
		return nil, err
	}
	return b, nil
}

func validateBolt[K comparable](cfg *BackendConfig[K]) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	switch {
	case cfg.KeyCodec == nil:
		return fmt.Errorf("%w: BackendConfig.KeyCodec is nil, required by NewBoltBackend", ErrConfig)
	case cfg.MaxParallelism > maxBoltGroups:
		return fmt.Errorf("%w: BackendConfig.MaxParallelism is %d, at most %d with bbolt",
			ErrConfig, cfg.MaxParallelism, maxBoltGroups)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheEntries == 0 {
		cfg.CacheEntries = DefaultCacheEntries
	}
	return nil
}

// resetBuckets deletes every bucket and creates generation 1.
func resetBuckets(tx *bolt.Tx) error {
	var names [][]byte
	err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, name)
		return nil
	})
	for _, n := range names {
		err = errors.Join(err, tx.DeleteBucket(n))
	}
	_, cerr := tx.CreateBucket(genName(1))
	return bolted(errors.Join(err, cerr))
}

// Path returns the file's path.
func (b *BoltBackend[K]) Path() string { return b.path }

// SetCurrentKey sets the key that every state of the backend reads and
// writes until the next call.
func (b *BoltBackend[K]) SetCurrentKey(k K) {
	b.key = k
	b.curOK = false
}

// CurrentKey returns the current key.
func (b *BoltBackend[K]) CurrentKey() K { return b.key }

// Err returns the first error the backend met reading or writing its
// file, wrapping ErrStorage (or ErrClosed); the state methods, which
// return no errors, record it here. Flush and Snapshot return it too.
func (b *BoltBackend[K]) Err() error { return b.err }

// Close closes the file, dropping unflushed changes (state is recovered
// from snapshots). It waits for the snapshots begun with BeginSnapshot
// to be closed: close them first. It is safe to call more than once;
// later uses of the backend fail with ErrClosed.
func (b *BoltBackend[K]) Close() error {
	if b.closed {
		return nil
	}
	b.endRead()
	b.closed = true
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("%w: close bbolt state file %s: %v", ErrStorage, b.path, err)
	}
	return nil
}

// fail records the first storage error.
func (b *BoltBackend[K]) fail(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

func (b *BoltBackend[K]) nowNanos() int64 { return b.cfg.Now().UnixNano() }

func (b *BoltBackend[K]) lookup(name string) (stateMeta, any, bool) {
	r, ok := b.states[name]
	if !ok {
		return stateMeta{}, nil, false
	}
	return r.t.meta(), r.state, true
}

// install registers a state, converting the records restored for it.
func (b *BoltBackend[K]) install(s storage, state any) error {
	t := s.(boltTable)
	m := t.meta()
	if _, ok := b.pending[m.name]; ok {
		if err := b.adoptPending(t); err != nil {
			return err
		}
	} else if err := b.update(func(tx *bolt.Tx) error {
		_, err := tx.Bucket(genName(b.gen)).CreateBucketIfNotExists([]byte(statePrefix + m.name))
		return bolted(err)
	}); err != nil {
		return err
	}
	b.states[m.name] = &boltReg{t: t, state: state}
	return nil
}
