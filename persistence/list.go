package persistence

// ListState holds a list of values per key; with TTL each element expires
// on its own. Its methods act on the backend's current key.
type ListState[V any] struct{ l lister[V] }

// lister is the list storage seen without its key type.
type lister[V any] interface {
	get() []V
	add(vs ...V)
	update([]V)
	clear()
}

// List registers (or returns the already registered) list state d.Name.
func List[K comparable, V any](b Backend[K], d ListDescriptor[V]) (*ListState[V], error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	m := stateMeta{name: d.Name, kind: kindList, ttl: d.TTL}
	return register(b, m, func() (storage, *ListState[V], error) {
		t, l, err := newList(b, m, d.Codec)
		return t, &ListState[V]{l}, err
	})
}

// Get returns a copy of the current key's list; nil if it is empty.
func (s *ListState[V]) Get() []V { return s.l.get() }

// Add appends v to the current key's list.
func (s *ListState[V]) Add(v V) { s.l.add(v) }

// AddAll appends vs to the current key's list.
func (s *ListState[V]) AddAll(vs []V) { s.l.add(vs...) }

// Update replaces the current key's list with a copy of vs; an empty vs
// clears it.
func (s *ListState[V]) Update(vs []V) { s.l.update(vs) }

// Clear removes the current key's list.
func (s *ListState[V]) Clear() { s.l.clear() }
