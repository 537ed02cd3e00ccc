package operators

import (
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"

	"github.com/troupe-dev/troupe/persistence"
)

// Keyed state for user functions, as Flink's: a function gets any number
// of named states from a StateStore through descriptors (name, type,
// TTL) — GetValueState, GetListState, GetMapState, GetReducingState,
// GetAggregatingState — and each state reads and writes the entry of the
// key being processed (and, for a window's WindowState, of the window
// firing). States are snapshotted by key group with the operator and
// restored by name; their values are encoded with JSON unless the
// descriptor gives a codec (a type JSON would not round-trip, such as a
// struct with unexported fields, needs one: see ErrLossyJSON).

// TTLConfig makes state entries expire a fixed time after they were last
// written (or read); the zero value disables TTL. See
// persistence.TTLConfig.
type TTLConfig = persistence.TTLConfig

// TTLUpdate says which accesses reset an entry's TTL.
type TTLUpdate = persistence.TTLUpdate

// TTLVisibility says whether reads may return expired entries.
type TTLVisibility = persistence.TTLVisibility

// The TTL settings, as in persistence.
const (
	OnCreateAndWrite            = persistence.OnCreateAndWrite
	OnReadAndWrite              = persistence.OnReadAndWrite
	NeverReturnExpired          = persistence.NeverReturnExpired
	ReturnExpiredIfNotCleanedUp = persistence.ReturnExpiredIfNotCleanedUp
)

// ValueDescriptor describes a ValueState: one value per key.
type ValueDescriptor[V any] struct {
	Name  string    // unique among the operator's states; required
	TTL   TTLConfig // default: none
	Codec Codec[V]  // encodes values in snapshots; default JSON
}

// ListDescriptor describes a ListState: a list of values per key.
type ListDescriptor[V any] struct {
	Name  string
	TTL   TTLConfig // per element
	Codec Codec[V]  // encodes elements; default JSON
}

// MapDescriptor describes a MapState: a map per key.
type MapDescriptor[UK comparable, UV any] struct {
	Name       string
	TTL        TTLConfig // per user key
	KeyCodec   Codec[UK] // default JSON
	ValueCodec Codec[UV] // default JSON
}

// ReducingDescriptor describes a ReducingState: per key, the reduction of
// the values added.
type ReducingDescriptor[V any] struct {
	Name   string
	Reduce func(a, b V) V // required
	TTL    TTLConfig
	Codec  Codec[V] // default JSON
}

// NewReducingDescriptor returns the descriptor of a reducing state named
// name, with V inferred from reduce.
func NewReducingDescriptor[V any](name string, reduce func(a, b V) V) ReducingDescriptor[V] {
	return ReducingDescriptor[V]{Name: name, Reduce: reduce}
}

// AggregatingDescriptor describes an AggregatingState: per key, an
// accumulator that the inputs added fold into, read as its result.
type AggregatingDescriptor[In, Acc, Out any] struct {
	Name      string
	Aggregate AggregateFunc[In, Acc, Out] // Create, Add, Result required; Merge unused
	TTL       TTLConfig
	AccCodec  Codec[Acc] // default JSON
}

// NewAggregatingDescriptor returns the descriptor of an aggregating state
// named name, with its types inferred from agg (see Aggregate).
func NewAggregatingDescriptor[In, Acc, Out any](name string, agg AggregateFunc[In, Acc, Out]) AggregatingDescriptor[In, Acc, Out] {
	return AggregatingDescriptor[In, Acc, Out]{Name: name, Aggregate: agg}
}

// ValueState is one value per key (and window, for window state).
type ValueState[V any] interface {
	// Value returns the value and whether there is one.
	Value() (V, bool)
	// Update sets the value.
	Update(v V)
	// Clear removes the value.
	Clear()
}

// ListState is a list of values per key (and window).
type ListState[V any] interface {
	// Get returns a copy of the list; nil when it is empty.
	Get() []V
	// Add appends v.
	Add(v V)
	// AddAll appends vs.
	AddAll(vs []V)
	// Update replaces the list with vs.
	Update(vs []V)
	// Clear empties the list.
	Clear()
}

// MapState is a map per key (and window).
type MapState[UK comparable, UV any] interface {
	Get(k UK) (UV, bool)
	Put(k UK, v UV)
	Remove(k UK)
	Contains(k UK) bool
	// All iterates over the entries in no particular order; the state
	// must not change during the iteration.
	All() iter.Seq2[UK, UV]
	Len() int
	Clear()
}

// ReducingState holds per key (and window) the reduction of the values
// added to it.
type ReducingState[V any] interface {
	// Get returns the reduced value and whether there is one.
	Get() (V, bool)
	// Add reduces v into the value; the first value is kept as is.
	Add(v V)
	Clear()
}

// AggregatingState folds per key (and window) the inputs added to it into
// an accumulator and reads as its result.
type AggregatingState[In, Out any] interface {
	// Get returns the result and whether anything was added.
	Get() (Out, bool)
	Add(in In)
	Clear()
}

// StateStore is where a function gets its keyed state, as Flink's
// KeyedStateStore: the KeyedContext and KeyedRuntimeContext of keyed
// operators (the current key's state), and a WindowContext's
// GlobalState (the key's, across windows) and WindowState (the key's in
// the window firing). It is implemented in this package only.
type StateStore[K comparable] interface {
	stateScope() *stateScope[K]
}

// userStatePrefix keeps users' state names apart from the operators' own
// ("timers", "window-contents", …) in one backend.
const userStatePrefix = "user/"

// GetValueState returns the value state d describes, registering it on
// first use; every later call with the same name returns the same state.
// It fails for an invalid descriptor, or for a name that a state of
// another kind or TTL has.
func GetValueState[K comparable, V any](s StateStore[K], d ValueDescriptor[V]) (ValueState[V], error) {
	sc := s.stateScope()
	if sc.window != nil {
		return windowValue[K, V](sc, d)
	}
	if err := sc.lease.lent(d.Name); err != nil {
		return nil, err
	}
	st, ok := handle[*persistence.ValueState[V]](sc, d.Name, d.TTL)
	if !ok {
		c, err := keyedCodec(sc, d.Name, d.Codec, "ValueDescriptor.Codec")
		if err != nil {
			return nil, sc.stateErr(d.Name, err)
		}
		st, err = persistence.Value(sc.b, persistence.ValueDescriptor[V]{Name: userStatePrefix + d.Name,
			Codec: c, TTL: d.TTL})
		if err := sc.registered(d.Name, d.TTL, st, err); err != nil {
			return nil, err
		}
	}
	return leaseValue[V](sc.lease, st), nil
}

// GetListState returns the list state d describes (see GetValueState).
func GetListState[K comparable, V any](s StateStore[K], d ListDescriptor[V]) (ListState[V], error) {
	sc := s.stateScope()
	if sc.window != nil {
		return windowList[K, V](sc, d)
	}
	if err := sc.lease.lent(d.Name); err != nil {
		return nil, err
	}
	st, ok := handle[*persistence.ListState[V]](sc, d.Name, d.TTL)
	if !ok {
		c, err := keyedCodec(sc, d.Name, d.Codec, "ListDescriptor.Codec")
		if err != nil {
			return nil, sc.stateErr(d.Name, err)
		}
		st, err = persistence.List(sc.b, persistence.ListDescriptor[V]{Name: userStatePrefix + d.Name,
			Codec: c, TTL: d.TTL})
		if err := sc.registered(d.Name, d.TTL, st, err); err != nil {
			return nil, err
		}
	}
	return leaseList[V](sc.lease, st), nil
}

// GetMapState returns the map state d describes (see GetValueState).
func GetMapState[K comparable, UK comparable, UV any](s StateStore[K], d MapDescriptor[UK, UV]) (MapState[UK, UV], error) {
	sc := s.stateScope()
	if sc.window != nil {
		return windowMap[K, UK, UV](sc, d)
	}
	if err := sc.lease.lent(d.Name); err != nil {
		return nil, err
	}
	st, ok := handle[*persistence.MapState[UK, UV]](sc, d.Name, d.TTL)
	if !ok {
		kc, err1 := keyedCodec(sc, d.Name, d.KeyCodec, "MapDescriptor.KeyCodec")
		vc, err2 := keyedCodec(sc, d.Name, d.ValueCodec, "MapDescriptor.ValueCodec")
		if err := errors.Join(err1, err2); err != nil {
			return nil, sc.stateErr(d.Name, err)
		}
		var err error
		st, err = persistence.Map(sc.b, persistence.MapDescriptor[UK, UV]{Name: userStatePrefix + d.Name,
			KeyCodec: kc, ValueCodec: vc, TTL: d.TTL})
		if err := sc.registered(d.Name, d.TTL, st, err); err != nil {
			return nil, err
		}
	}
	return leaseMap[UK, UV](sc.lease, st), nil
}

// GetReducingState returns the reducing state d describes (see
// GetValueState).
func GetReducingState[K comparable, V any](s StateStore[K], d ReducingDescriptor[V]) (ReducingState[V], error) {
	sc := s.stateScope()
	if sc.window != nil {
		return windowReducing[K, V](sc, d)
	}
	if err := sc.lease.lent(d.Name); err != nil {
		return nil, err
	}
	st, ok := handle[*persistence.ReducingState[V]](sc, d.Name, d.TTL)
	if !ok {
		c, err := keyedCodec(sc, d.Name, d.Codec, "ReducingDescriptor.Codec")
		if err != nil {
			return nil, sc.stateErr(d.Name, err)
		}
		st, err = persistence.Reducing(sc.b, persistence.ReducingDescriptor[V]{Name: userStatePrefix + d.Name,
			Codec: c, Reduce: d.Reduce, TTL: d.TTL})
		if err := sc.registered(d.Name, d.TTL, st, err); err != nil {
			return nil, err
		}
	}
	return leaseReducing[V](sc.lease, st), nil
}

// GetAggregatingState returns the aggregating state d describes (see
// GetValueState).
func GetAggregatingState[K comparable, In, Acc, Out any](s StateStore[K], d AggregatingDescriptor[In, Acc, Out]) (AggregatingState[In, Out], error) {
	sc := s.stateScope()
	if sc.window != nil {
		return windowAggregating[K, In, Acc, Out](sc, d)
	}
	if err := sc.lease.lent(d.Name); err != nil {
		return nil, err
	}
	st, ok := handle[*persistence.AggregatingState[In, Out]](sc, d.Name, d.TTL)
	if !ok {
		a := d.Aggregate
		c, err := keyedCodec(sc, d.Name, d.AccCodec, "AggregatingDescriptor.AccCodec")
		if err != nil {
			return nil, sc.stateErr(d.Name, err)
		}
		st, err = persistence.Aggregating(sc.b, persistence.AggregatingDescriptor[In, Acc, Out]{Name: userStatePrefix + d.Name,
			AccCodec: c, Create: a.Create, Add: a.Add, Result: a.Result, TTL: d.TTL})
		if err := sc.registered(d.Name, d.TTL, st, err); err != nil {
			return nil, err
		}
	}
	return leaseAggregating[In, Out](sc.lease, st), nil
}

// keyedCodec is checkedCodec for the key's state name of scope sc, with
// the check by reflection at its registration only: the getters run per
// record.
func keyedCodec[K comparable, V any](sc *stateScope[K], name string, c Codec[V], field string) (Codec[V], error) {
	if c == nil && sc.seen[userStatePrefix+name] {
		return JSONCodec[V]{}, nil
	}
	return checkedCodec(c, field)
}

// stateScope is the keyed state of one operator's subtask as its
// functions see it: the operator's backend and, for a window's
// WindowState, the window firing.
type stateScope[K comparable] struct {
	b      persistence.Backend[K]
	window *windowScope    // nil: the key's state
	seen   map[string]bool // the backend names of the user's states registered
	// handles are the states registered, by the user's name: a function
	// that asks for its state at every record (as Flink's getState is
	// used) finds it with one lookup
	handles map[string]stateHandle
	// lease, when not nil, is that of state lent to code outside the
	// subtask's goroutine (ExternalState): its states act only while lent.
	lease *lease
}

// stateErr names the state in an error of the backend's.
func (sc *stateScope[K]) stateErr(name string, err error) error {
	if err != nil {
		return fmt.Errorf("state %q: %w", name, err)
	}
	return nil
}

// registered notes that the user's state name is registered as st,
// unless err says it could not be, which it returns naming the state.
func (sc *stateScope[K]) registered(name string, ttl TTLConfig, st any, err error) error {
	if err != nil {
		return sc.stateErr(name, err)
	}
	if sc.seen == nil {
		sc.seen, sc.handles = map[string]bool{}, map[string]stateHandle{}
	}
	sc.seen[userStatePrefix+name] = true
	sc.handles[name] = stateHandle{ttl: ttl, state: st}
	return nil
}

// stateHandle is a registered state and its TTL.
type stateHandle struct {
	ttl   TTLConfig
	state any
}

// handle returns the state registered under the user's name if it is an
// S with the given TTL, as registering it again would; ok false sends
// the caller to the backend, which returns it or the error.
func handle[S any, K comparable](sc *stateScope[K], name string, ttl TTLConfig) (st S, ok bool) {
	h, found := sc.handles[name]
	if !found || h.ttl != ttl {
		return st, false
	}
	st, ok = h.state.(S)
	return st, ok
}

// names returns the backend names of the user's states registered so far.
func (sc *stateScope[K]) names() []string { return slices.Sorted(maps.Keys(sc.seen)) }
