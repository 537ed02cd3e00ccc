package persistence

import "iter"

// MapState holds a map from user keys to user values per key; with TTL
// each user key expires on its own. Its methods act on the backend's
// current key.
type MapState[UK comparable, UV any] struct{ m mapper[UK, UV] }

// mapper is the map storage seen without its key type.
type mapper[UK comparable, UV any] interface {
	get(UK) (UV, bool)
	put(UK, UV)
	remove(UK)
	all() iter.Seq2[UK, UV]
	len() int
	clear()
}

// Map registers (or returns the already registered) map state d.Name.
func Map[K comparable, UK comparable, UV any](b Backend[K], d MapDescriptor[UK, UV]) (*MapState[UK, UV], error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	m := stateMeta{name: d.Name, kind: kindMap, ttl: d.TTL}
	return register(b, m, func() (storage, *MapState[UK, UV], error) {
		t, s, err := newMap(b, m, d.KeyCodec, d.ValueCodec)
		return t, &MapState[UK, UV]{s}, err
	})
}

// Get returns the value of user key uk and whether it is present.
func (s *MapState[UK, UV]) Get(uk UK) (UV, bool) { return s.m.get(uk) }

// Put sets the value of user key uk.
func (s *MapState[UK, UV]) Put(uk UK, uv UV) { s.m.put(uk, uv) }

// Remove removes user key uk.
func (s *MapState[UK, UV]) Remove(uk UK) { s.m.remove(uk) }

// Contains reports whether user key uk is present; it counts as a read of
// uk for TTL.
func (s *MapState[UK, UV]) Contains(uk UK) bool {
	_, ok := s.m.get(uk)
	return ok
}

// All returns the current key's entries, in no particular order. The key
// is the current one when All is called, not when the sequence runs. The
// map may be changed while iterating, with Go's map semantics.
func (s *MapState[UK, UV]) All() iter.Seq2[UK, UV] { return s.m.all() }

// Len returns the number of entries of the current key that All would
// yield.
func (s *MapState[UK, UV]) Len() int { return s.m.len() }

// Clear removes all the current key's entries.
func (s *MapState[UK, UV]) Clear() { s.m.clear() }
