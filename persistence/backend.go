package persistence

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Backend is a keyed state backend: the storage behind the states that
// Value, List, Map, Reducing and Aggregating register. Every state reads
// and writes the entry of the current key (SetCurrentKey). It is
// implemented by *HeapBackend and *BoltBackend only, whose snapshots are
// interchangeable: either restores the other's.
//
// A backend is owned by one subtask and must never be called
// concurrently, nor any of its states.
type Backend[K comparable] interface {
	// SetCurrentKey sets the key that every state of the backend reads
	// and writes until the next call.
	SetCurrentKey(k K)
	// CurrentKey returns the current key.
	CurrentKey() K
	// Entries returns the number of (state, key) pairs with an unexpired
	// value over the registered states.
	Entries() int
	// Keys returns the keys with an unexpired value in the named state,
	// in no particular order; nil if the state is not registered.
	Keys(state string) []K
	// Snapshot encodes the state by key group (see HeapBackend.Snapshot).
	Snapshot() (*KeyedSnapshot, error)
	// Restore replaces the state with the owned key groups of snaps (see
	// HeapBackend.Restore).
	Restore(snaps ...*KeyedSnapshot) error

	// lookup returns the state registered under name, with its meta.
	lookup(name string) (m stateMeta, state any, ok bool)
	// install registers state, stored in t (a table of this backend),
	// moving in the entries restored for it. It changes nothing if it
	// fails.
	install(t storage, state any) error
	// dropRestored: see DropRestored.
	dropRestored(prefix string, drop func(state string, userKey []byte) bool) error
}

// storage is the storage of one registered state, as the registration
// functions see it; each backend has its own tables.
type storage interface{ meta() stateMeta }

var (
	_ Backend[int] = (*HeapBackend[int])(nil)
	_ Backend[int] = (*BoltBackend[int])(nil)
)

// BackendConfig configures a HeapBackend or a BoltBackend.
type BackendConfig[K comparable] struct {
	// MaxParallelism is the number of key groups; required, > 0. It is
	// fixed for the life of a job's state: snapshots restore only into a
	// backend with the same value.
	MaxParallelism int
	// KeyGroups is the range of key groups [Start, End) this subtask
	// owns; it must lie within [0, MaxParallelism). The zero value means
	// all key groups (a job of parallelism 1).
	KeyGroups Range
	// KeyGroupOf returns a key's group, in [0, MaxParallelism); required.
	// It is called only by Snapshot, never per access.
	KeyGroupOf func(K) int
	// KeyCodec encodes keys; required by Snapshot and Restore, and by
	// NewBoltBackend.
	KeyCodec Codec[K]
	// Now is the clock of TTL, read once per access to a state with TTL.
	// Default (nil): time.Now; a clock cached by the subtask's loop (as
	// its processing time) is cheaper.
	Now func() time.Time
	// CacheEntries bounds the write-back cache of a BoltBackend: the
	// number of entries (keys of value, reducing, aggregating and list
	// states, user keys of map states) it holds before it writes the
	// changed ones to bbolt and starts afresh. Default (0):
	// DefaultCacheEntries. A HeapBackend ignores it.
	CacheEntries int
}

// DefaultCacheEntries is the default BackendConfig.CacheEntries: at a
// few hundred bytes per entry, some tens of megabytes.
const DefaultCacheEntries = 1 << 16

func (c *BackendConfig[K]) validate() error {
	switch {
	case c.MaxParallelism <= 0:
		return fmt.Errorf("%w: BackendConfig.MaxParallelism is %d, must be > 0", ErrConfig, c.MaxParallelism)
	case c.KeyGroupOf == nil:
		return fmt.Errorf("%w: BackendConfig.KeyGroupOf is nil", ErrConfig)
	case c.CacheEntries < 0:
		return fmt.Errorf("%w: BackendConfig.CacheEntries is %d, must not be negative", ErrConfig, c.CacheEntries)
	case c.KeyGroups.Start < 0 || c.KeyGroups.Start >= c.KeyGroups.End || c.KeyGroups.End > c.MaxParallelism:
		return fmt.Errorf("%w: BackendConfig.KeyGroups is %v, must be a non-empty range within [0, %d)",
			ErrConfig, c.KeyGroups, c.MaxParallelism)
	}
	return nil
}

// HeapBackend keeps keyed state in Go maps, one per state, keyed by K.
// Every state reads and writes the entry of the current key
// (SetCurrentKey). A HeapBackend is owned by one subtask and must never
// be called concurrently, nor any of its states.
type HeapBackend[K comparable] struct {
	cfg BackendConfig[K]
	key K
	// gen counts SetCurrentKey calls, from 1: tables cache what they
	// read for the key of one generation.
	gen    uint64
	states map[string]*registration[K]
	// pending holds restored records, by state name, of states not yet
	// registered; registering the state moves them in. Snapshots include
	// them, so that state an operator registers late is never lost.
	pending map[string][]record
	// lastSizes is the encoded size of each key group in the last
	// snapshot (snapshotBuffers)
	lastSizes []int
	// byKey indexes the pending records of a state by encoded key; built
	// by the state's first DropRestored, whose dropped records it tells
	// apart (see livePending).
	byKey map[string]map[string][]int
}

// registration is one registered state: its storage and the value handed
// to the user (a *ValueState[V], *ListState[V], …).
type registration[K comparable] struct {
	t     table[K]
	state any
}

// stateMeta identifies a registered state; registering again must match.
type stateMeta struct {
	name string
	kind stateKind
	ttl  TTLConfig
}

// table is the storage of one state, seen by the backend.
type table[K comparable] interface {
	meta() stateMeta
	// live returns the number of keys with a visible entry.
	live(now int64) int
	keys(now int64) []K
	// snapshot writes the unexpired entries to w.
	snapshot(w *groupWriter[K]) error
	// restore decodes restored records into new storage; commit installs it,
	// replacing the current contents. restore changes nothing.
	restore(recs []record, now int64) (commit func(), err error)
	// check returns an error if the storage breaks an invariant; tests
	// call it on cleanup.
	check() error
}

// NewHeapBackend returns an empty backend. The error wraps ErrConfig and
// names the bad field.
func NewHeapBackend[K comparable](cfg BackendConfig[K]) (*HeapBackend[K], error) {
	if cfg.KeyGroups == (Range{}) {
		cfg.KeyGroups = Range{0, cfg.MaxParallelism}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &HeapBackend[K]{
		cfg:     cfg,
		gen:     1,
		states:  make(map[string]*registration[K]),
		pending: make(map[string][]record),
	}, nil
}

// SetCurrentKey sets the key that every state of the backend reads and
// writes until the next call.
func (b *HeapBackend[K]) SetCurrentKey(k K) {
	b.key = k
	b.gen++
}

// CurrentKey returns the current key.
func (b *HeapBackend[K]) CurrentKey() K { return b.key }

// Entries returns the number of (state, key) pairs with an unexpired
// value, over all registered states: a list or map counts once per key,
// whatever its length. Restored entries of states not yet registered are
// not counted.
func (b *HeapBackend[K]) Entries() int {
	n, now := 0, b.nowNanos()
	for _, r := range b.states {
		n += r.t.live(now)
	}
	return n
}

// Keys returns the keys with an unexpired value in the named state, in no
// particular order; nil if the state is not registered.
func (b *HeapBackend[K]) Keys(state string) []K {
	r, ok := b.states[state]
	if !ok {
		return nil
	}
	return r.t.keys(b.nowNanos())
}

func (b *HeapBackend[K]) nowNanos() int64 { return b.cfg.Now().UnixNano() }

// stateNames returns the registered names, sorted so that snapshots are
// deterministic.
func (b *HeapBackend[K]) stateNames() []string {
	return slices.Sorted(maps.Keys(b.states))
}

// lookup returns the state registered under name.
func (b *HeapBackend[K]) lookup(name string) (stateMeta, any, bool) {
	r, ok := b.states[name]
	if !ok {
		return stateMeta{}, nil, false
	}
	return r.t.meta(), r.state, true
}

// install registers a state, moving in any restored records pending for
// it.
func (b *HeapBackend[K]) install(s storage, state any) error {
	t := s.(table[K])
	name := t.meta().name
	if _, ok := b.pending[name]; ok {
		commit, err := t.restore(b.livePending(name), b.nowNanos())
		if err != nil {
			return err
		}
		commit()
		delete(b.pending, name)
		delete(b.byKey, name)
	}
	b.states[name] = &registration[K]{t: t, state: state}
	return nil
}

// register returns the state registered under m.name, or registers the
// one build makes for b, moving in any restored entries for it.
func register[K comparable, S any](b Backend[K], m stateMeta, build func() (storage, S, error)) (S, error) {
	var zero S
	if old, st, ok := b.lookup(m.name); ok {
		s, same := st.(S)
		if !same || old != m {
			return zero, fmt.Errorf("%w: state %q is a %s state (%T, TTL %+v), not a %s state (%T, TTL %+v)",
				ErrStateExists, m.name, old.kind, st, old.ttl, m.kind, zero, m.ttl)
		}
		return s, nil
	}
	t, s, err := build()
	if err != nil {
		return zero, err
	}
	if err := b.install(t, s); err != nil {
		return zero, err
	}
	return s, nil
}
