package operators

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/persistence"
)

// Per-window state (WindowContext.WindowState), as Flink's
// ProcessWindowFunction.Context.windowState(): each state is a map state
// of the key, from window to the value (a map's entries from (window,
// user key)), under a name of its kind, so that value, list and other
// states of one name and type never share storage. TTL counts per window
// (per window and user key for maps). The window operator clears a
// window's entries of every per-window state the function has asked for
// when it clears the window (its cleanup time), where Flink leaves that
// to the function's clear(). As in Flink, merging windows (sessions) have
// no per-window state: asking for it fails.

// windowScope is the window a WindowState acts on, and how to clear the
// per-window states asked for so far.
type windowScope struct {
	w       *window.Window // the window firing (its state window)
	merging bool
	clears  map[string]func(window.Window) // by backend state name
	entries map[string]func() int          // by backend state name: (key, window) entries
	// drop reports whether a restored entry is of the window clearing,
	// encoded into enc on its first call of each clear: made once, so
	// that a clear, which the window operator runs for every window that
	// ends, allocates nothing
	drop     func(state string, userKey []byte) bool
	clearing window.Window
	enc      []byte
	encoded  bool
}

// windowStatePrefix begins the backend name of every per-window state.
const windowStatePrefix = "user-window/"

// clearWindow removes w's entries of the current key from every
// per-window state of scope sc: those the function has asked for in this
// attempt, through their states, and those restored that it has not
// asked for yet, as restored (the operator cannot register them without
// their types). Without the second, a window cleaned up after a restore
// before the function asks for its state would leave its entries behind,
// to be found by a later window of the same bounds.
func (sc *stateScope[K]) clearWindow(w window.Window) error {
	ws := sc.window
	if len(ws.clears) > 0 { // the common case has no per-window state: nothing to sort
		for _, name := range slices.Sorted(maps.Keys(ws.clears)) {
			ws.clears[name](w)
		}
	}
	if ws.drop == nil {
		ws.drop = ws.restoredOfClearing
	}
	ws.clearing, ws.encoded = w, false
	return persistence.DropRestored(sc.b, windowStatePrefix, ws.drop)
}

// restoredOfClearing reports whether the restored entry uk of a
// per-window state is of the window clearing.
func (ws *windowScope) restoredOfClearing(state string, uk []byte) bool {
	if !ws.encoded {
		ws.enc, _ = windowCodec{}.Append(ws.enc[:0], ws.clearing)
		ws.encoded = true
	}
	enc := ws.enc
	if strings.HasPrefix(state, windowStatePrefix+"map/") { // (window, user key): see winKeyCodec
		return len(uk) > len(enc) && uk[len(enc)] == '|' && bytes.HasPrefix(uk, enc)
	}
	return bytes.Equal(uk, enc)
}

// windowMapOf registers the map state behind a per-window state of kind.
func windowMapOf[K comparable, UK comparable, UV any](sc *stateScope[K], kind, name string, ttl TTLConfig,
	keys Codec[UK], values Codec[UV], clear func(m *persistence.MapState[UK, UV], w window.Window)) (*persistence.MapState[UK, UV], error) {
	if sc.window.merging {
		return nil, fmt.Errorf("state %q: %w", name, ErrWindowStateMerging)
	}
	full := windowStatePrefix + kind + "/" + name
	m, err := persistence.Map(sc.b, persistence.MapDescriptor[UK, UV]{Name: full, KeyCodec: keys, ValueCodec: values, TTL: ttl})
	if err != nil {
		return nil, sc.stateErr(name, err)
	}
	if _, ok := sc.window.clears[full]; !ok {
		sc.window.clears[full] = func(w window.Window) { clear(m, w) }
		sc.window.entries[full] = func() int { return userEntries(sc.b, m, full) }
	}
	return m, nil
}

// userEntries counts the entries of a map state over every key.
func userEntries[K comparable, UK comparable, UV any](b persistence.Backend[K], m *persistence.MapState[UK, UV], name string) int {
	cur, n := b.CurrentKey(), 0
	for _, k := range b.Keys(name) {
		b.SetCurrentKey(k)
		n += m.Len()
	}
	b.SetCurrentKey(cur)
	return n
}

// count returns the entries of every per-window state, a window's map
// state counting each user key.
func (ws *windowScope) count() int {
	n := 0
	for _, c := range ws.entries {
		n += c()
	}
	return n
}

func removeWindow[V any](m *persistence.MapState[window.Window, V], w window.Window) { m.Remove(w) }

func windowValue[K comparable, V any](sc *stateScope[K], d ValueDescriptor[V]) (ValueState[V], error) {
	c, err := checkedCodec(d.Codec, "ValueDescriptor.Codec")
	if err != nil {
		return nil, sc.stateErr(d.Name, err)
	}
	m, err := windowMapOf(sc, "value", d.Name, d.TTL, Codec[window.Window](windowCodec{}), c, removeWindow[V])
	if err != nil {
		return nil, err
	}
	return &winValue[V]{m: m, w: sc.window.w}, nil
}

type winValue[V any] struct {
	m *persistence.MapState[window.Window, V]
	w *window.Window
}

func (s *winValue[V]) Value() (V, bool) { return s.m.Get(*s.w) }
func (s *winValue[V]) Update(v V)       { s.m.Put(*s.w, v) }
func (s *winValue[V]) Clear()           { s.m.Remove(*s.w) }

// windowList is a per-window list state: a window's list is one value,
// encoded as a JSON array unless the descriptor gives the elements' codec.
func windowList[K comparable, V any](sc *stateScope[K], d ListDescriptor[V]) (ListState[V], error) {
	var lists Codec[[]V] = listCodec[V]{elem: d.Codec}
	if d.Codec == nil {
		c, err := checkedCodec[[]V](nil, "ListDescriptor.Codec")
		if err != nil {
			return nil, sc.stateErr(d.Name, err)
		}
		lists = c
	}
	m, err := windowMapOf(sc, "list", d.Name, d.TTL, Codec[window.Window](windowCodec{}), lists, removeWindow[[]V])
	if err != nil {
		return nil, err
	}
	return &winList[V]{m: m, w: sc.window.w}, nil
}

type winList[V any] struct {
	m *persistence.MapState[window.Window, []V]
	w *window.Window
}

func (s *winList[V]) Get() []V {
	l, _ := s.m.Get(*s.w)
	return slices.Clone(l)
}
func (s *winList[V]) Add(v V) { s.AddAll([]V{v}) }
func (s *winList[V]) AddAll(vs []V) {
	l, _ := s.m.Get(*s.w)
	s.Update(append(slices.Clone(l), vs...))
}
func (s *winList[V]) Update(vs []V) {
	if len(vs) == 0 {
		s.m.Remove(*s.w)
		return
	}
	s.m.Put(*s.w, slices.Clone(vs))
}
func (s *winList[V]) Clear() { s.m.Remove(*s.w) }

func windowReducing[K comparable, V any](sc *stateScope[K], d ReducingDescriptor[V]) (ReducingState[V], error) {
	if d.Reduce == nil {
		return nil, fmt.Errorf("state %q: %w: nil Reduce", d.Name, ErrNilFunc)
	}
	c, err := checkedCodec(d.Codec, "ReducingDescriptor.Codec")
	if err != nil {
		return nil, sc.stateErr(d.Name, err)
	}
	m, err := windowMapOf(sc, "reducing", d.Name, d.TTL, Codec[window.Window](windowCodec{}), c, removeWindow[V])
	if err != nil {
		return nil, err
	}
	return &winReducing[V]{winValue: winValue[V]{m: m, w: sc.window.w}, reduce: d.Reduce}, nil
}

type winReducing[V any] struct {
	winValue[V]
	reduce func(a, b V) V
}

func (s *winReducing[V]) Get() (V, bool) { return s.Value() }
func (s *winReducing[V]) Add(v V) {
	if old, ok := s.Value(); ok {
		v = s.reduce(old, v)
	}
	s.Update(v)
}

func windowAggregating[K comparable, In, Acc, Out any](sc *stateScope[K], d AggregatingDescriptor[In, Acc, Out]) (AggregatingState[In, Out], error) {
	a := d.Aggregate
	if a.Create == nil || a.Add == nil || a.Result == nil {
		return nil, fmt.Errorf("state %q: %w: Create, Add and Result are required", d.Name, ErrNilFunc)
	}
	c, err := checkedCodec(d.AccCodec, "AggregatingDescriptor.AccCodec")
	if err != nil {
		return nil, sc.stateErr(d.Name, err)
	}
	m, err := windowMapOf(sc, "aggregating", d.Name, d.TTL, Codec[window.Window](windowCodec{}), c, removeWindow[Acc])
	if err != nil {
		return nil, err
	}
	return &winAggregating[In, Acc, Out]{acc: winValue[Acc]{m: m, w: sc.window.w}, agg: a}, nil
}

type winAggregating[In, Acc, Out any] struct {
	acc winValue[Acc]
	agg AggregateFunc[In, Acc, Out]
}

func (s *winAggregating[In, Acc, Out]) Get() (Out, bool) {
	acc, ok := s.acc.Value()
	if !ok {
		var zero Out
		return zero, false
	}
	return s.agg.Result(acc), true
}
func (s *winAggregating[In, Acc, Out]) Add(in In) {
	acc, ok := s.acc.Value()
	if !ok {
		acc = s.agg.Create()
	}
	s.acc.Update(s.agg.Add(acc, in))
}
func (s *winAggregating[In, Acc, Out]) Clear() { s.acc.Clear() }

func windowMap[K comparable, UK comparable, UV any](sc *stateScope[K], d MapDescriptor[UK, UV]) (MapState[UK, UV], error) {
	kc, err1 := checkedCodec(d.KeyCodec, "MapDescriptor.KeyCodec")
	vc, err2 := checkedCodec(d.ValueCodec, "MapDescriptor.ValueCodec")
	if err := errors.Join(err1, err2); err != nil {
		return nil, sc.stateErr(d.Name, err)
	}
	keys := Codec[winKey[UK]](winKeyCodec[UK]{uk: kc})
	m, err := windowMapOf(sc, "map", d.Name, d.TTL, keys, vc, func(m *persistence.MapState[winKey[UK], UV], w window.Window) {
		(&winMap[UK, UV]{m: m, w: &w}).Clear()
	})
	if err != nil {
		return nil, err
	}
	return &winMap[UK, UV]{m: m, w: sc.window.w}, nil
}

// winKey is a user key of a per-window map state, with its window.
type winKey[UK comparable] struct {
	W window.Window
	K UK
}

// winKeyCodec encodes a winKey as the window ("start,end"), '|', then the
// user key.
type winKeyCodec[UK comparable] struct{ uk Codec[UK] }

func (c winKeyCodec[UK]) Append(dst []byte, k winKey[UK]) ([]byte, error) {
	dst, _ = windowCodec{}.Append(dst, k.W)
	return c.uk.Append(append(dst, '|'), k.K)
}

func (c winKeyCodec[UK]) Decode(b []byte) (winKey[UK], error) {
	var k winKey[UK]
	w, uk, ok := bytes.Cut(b, []byte{'|'})
	if !ok {
		return k, fmt.Errorf("per-window map key %q: want window|key", b)
	}
	var err error
	if k.W, err = (windowCodec{}).Decode(w); err != nil {
		return k, err
	}
	k.K, err = c.uk.Decode(uk)
	return k, err
}

type winMap[UK comparable, UV any] struct {
	m *persistence.MapState[winKey[UK], UV]
	w *window.Window
}

func (s *winMap[UK, UV]) key(k UK) winKey[UK] { return winKey[UK]{W: *s.w, K: k} }
func (s *winMap[UK, UV]) Get(k UK) (UV, bool) { return s.m.Get(s.key(k)) }
func (s *winMap[UK, UV]) Put(k UK, v UV)      { s.m.Put(s.key(k), v) }
func (s *winMap[UK, UV]) Remove(k UK)         { s.m.Remove(s.key(k)) }
func (s *winMap[UK, UV]) Contains(k UK) bool  { return s.m.Contains(s.key(k)) }
func (s *winMap[UK, UV]) All() iter.Seq2[UK, UV] {
	return func(yield func(UK, UV) bool) {
		for k, v := range s.m.All() {
			if k.W == *s.w && !yield(k.K, v) {
				return
			}
		}
	}
}

func (s *winMap[UK, UV]) Len() int {
	n := 0
	for range s.All() {
		n++
	}
	return n
}

func (s *winMap[UK, UV]) Clear() {
	var keys []UK
	for k := range s.All() { // collected first: the map must not change while iterated
		keys = append(keys, k)
	}
	for _, k := range keys {
		s.Remove(k)
	}
}
