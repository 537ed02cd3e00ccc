package persistence

// The registration functions build a state's storage for the backend it
// is registered with. Backend is sealed (it has unexported methods), so
// these switches cover every backend; the state handed to the user holds
// the storage behind a small interface (scalar, lister, mapper), which
// keeps the access path the same whatever the backend.

func newScalar[K comparable, T any](b Backend[K], m stateMeta, c Codec[T], field string) (storage, scalar[T], error) {
	switch b := b.(type) {
	case *HeapBackend[K]:
		t := newScalarTable(b, m, c, field)
		return t, t, nil
	case *BoltBackend[K]:
		t, err := newBoltScalar(b, m, c, field)
		return t, t, err
	}
	panic("persistence: unknown Backend")
}

func newList[K comparable, V any](b Backend[K], m stateMeta, c Codec[V]) (storage, lister[V], error) {
	switch b := b.(type) {
	case *HeapBackend[K]:
		t := &listTable[K, V]{b: b, m: make(map[K]*listCell[V]), info: m, codec: c,
			ttl: newTTLPolicy(m.ttl, b.cfg.Now)}
		return t, t, nil
	case *BoltBackend[K]:
		t, err := newBoltList(b, m, c)
		return t, t, err
	}
	panic("persistence: unknown Backend")
}

func newMap[K comparable, UK comparable, UV any](b Backend[K], m stateMeta, ukc Codec[UK], uvc Codec[UV]) (storage, mapper[UK, UV], error) {
	switch b := b.(type) {
	case *HeapBackend[K]:
		t := &mapTable[K, UK, UV]{b: b, m: make(map[K]map[UK]cell[UV]), info: m,
			ukCodec: ukc, uvCodec: uvc, ttl: newTTLPolicy(m.ttl, b.cfg.Now)}
		return t, t, nil
	case *BoltBackend[K]:
		t, err := newBoltMap(b, m, ukc, uvc)
		return t, t, err
	}
	panic("persistence: unknown Backend")
}
