package operators

import (
	"github.com/troupe-dev/troupe/operators/window"
	"github.com/troupe-dev/troupe/persistence"
)

// windowContents holds the window operator's contents: per key and
// state window, the accumulator. Its methods act on the key of the last
// setKey, which is also the backend's current key.
//
// With the heap backend the contents live in Go maps of the operator
// (heapContents), written into the "window-contents" map state only for a
// snapshot and read from it at a restore, as the timers are (nsTimers):
// a record's windows are then found with one map lookup for its key and
// a short scan, and its accumulators updated in place. The snapshots hold
// the same entries as with the state, so that either backend restores
// either's. With bbolt, whose state may be larger than memory, the
// contents are the map state itself (stateContents).
type windowContents[K comparable, Acc any] interface {
	setKey(k K)
	get(w window.Window) (Acc, bool)
	put(w window.Window, acc Acc)
	remove(w window.Window)
	// acc returns w's accumulator to update in place, a zero one added if
	// w has none (ok false); done(w) must follow before any other call.
	acc(w window.Window) (p *Acc, ok bool)
	done(w window.Window)
	// windows returns the current key's windows.
	windows() []window.Window
	// keys returns the keys with contents; entries the number of (key,
	// window) entries.
	keys() []K
	entries() int
	// toState writes the contents into the map state for a snapshot and
	// returns the function that removes them again; fromState moves
	// restored contents out of it. The backend's current key is kept.
	toState() (undo func())
	fromState()
}

// newWindowContents returns the contents of a window operator whose
// state is b, its map state st.
func newWindowContents[K comparable, Acc any](b persistence.Backend[K], st *persistence.MapState[window.Window, Acc]) windowContents[K, Acc] {
	if _, ok := b.(*persistence.HeapBackend[K]); ok {
		return &heapContents[K, Acc]{m: make(map[K]*keyWindows[Acc]), b: b, st: st}
	}
	return &stateContents[K, Acc]{b: b, st: st}
}

// stateContents keeps the contents in the map state.
type stateContents[K comparable, Acc any] struct {
	b       persistence.Backend[K]
	st      *persistence.MapState[window.Window, Acc]
	scratch Acc // what acc lends until done
}

func (c *stateContents[K, Acc]) setKey(K)                        {}
func (c *stateContents[K, Acc]) get(w window.Window) (Acc, bool) { return c.st.Get(w) }
func (c *stateContents[K, Acc]) put(w window.Window, acc Acc)    { c.st.Put(w, acc) }
func (c *stateContents[K, Acc]) remove(w window.Window)          { c.st.Remove(w) }
func (c *stateContents[K, Acc]) toState() func()                 { return func() {} }
func (c *stateContents[K, Acc]) fromState()                      {}
func (c *stateContents[K, Acc]) keys() []K                       { return c.b.Keys("window-contents") }
func (c *stateContents[K, Acc]) entries() int                    { return mapEntries(c.b, c.st, "window-contents") }
func (c *stateContents[K, Acc]) acc(w window.Window) (p *Acc, ok bool) {
	c.scratch, ok = c.st.Get(w)
	return &c.scratch, ok
}

func (c *stateContents[K, Acc]) done(w window.Window) {
	c.st.Put(w, c.scratch)
	var zero Acc
	c.scratch = zero // lend nothing past done
}

func (c *stateContents[K, Acc]) windows() []window.Window {
	var ws []window.Window
	for w := range c.st.All() {
		ws = append(ws, w)
	}
	return ws
}

// heapContents keeps the contents in memory: per key, its windows.
type heapContents[K comparable, Acc any] struct {
	m   map[K]*keyWindows[Acc]
	key K
	cur *keyWindows[Acc] // m[key]; nil if the key has no contents
	b   persistence.Backend[K]
	st  *persistence.MapState[window.Window, Acc]
	// free holds the entries of keys that emptied, with their slices,
	// for the next new keys: keys come and go (auctions, bidders), and
	// a new key's entry and growing slices were a third of q5's
	// allocations.
	free []*keyWindows[Acc]
}

// maxFreeKeys bounds heapContents.free: a watermark fires the windows
// of thousands of keys at once, and their entries serve the new keys
// until the next one. At a few hundred bytes each, a few megabytes.
const maxFreeKeys = 1 << 14

// keyWindows is one key's windows and accumulators, searched one by one
// while there are few (a record's windows are a handful), through an
// index beyond windowScan.
type keyWindows[Acc any] struct {
	ws    []window.Window
	accs  []Acc
	index map[window.Window]int32 // nil while len(ws) ≤ windowScan
	// set is the key's merging set (session windows), nil if it has
	// none: kept here, a record finds its sessions and its contents with
	// one lookup of its key
	set *window.MergingSet
}

// windowScan is how many windows of a key are searched one by one.
const windowScan = 16

func (c *heapContents[K, Acc]) setKey(k K) {
	c.key, c.cur = k, c.m[k]
}

func (kw *keyWindows[Acc]) find(w window.Window) int {
	if kw == nil {
		return -1
	}
	if kw.index != nil {
		if i, ok := kw.index[w]; ok {
			return int(i)
		}
		return -1
	}
	for i := range kw.ws {
		if kw.ws[i] == w {
			return i
		}
	}
	return -1
}

func (c *heapContents[K, Acc]) get(w window.Window) (Acc, bool) {
	if i := c.cur.find(w); i >= 0 {
		return c.cur.accs[i], true
	}
	var zero Acc
	return zero, false
}

func (c *heapContents[K, Acc]) put(w window.Window, acc Acc) {
	p, _ := c.acc(w)
	*p = acc
}

func (c *heapContents[K, Acc]) acc(w window.Window) (*Acc, bool) {
	if i := c.cur.find(w); i >= 0 {
		return &c.cur.accs[i], true
	}
	kw := c.entry()
	var zero Acc
	kw.ws, kw.accs = append(kw.ws, w), append(kw.accs, zero)
	n := len(kw.ws)
	switch {
	case kw.index != nil:
		kw.index[w] = int32(n - 1)
	case n > windowScan:
		kw.index = make(map[window.Window]int32, 2*n)
		for i, w := range kw.ws {
			kw.index[w] = int32(i)
		}
	}
	return &kw.accs[n-1], false
}

func (c *heapContents[K, Acc]) done(window.Window) {}

// remove drops w, moving the key's last window into its place.
func (c *heapContents[K, Acc]) remove(w window.Window) {
	i := c.cur.find(w)
	if i < 0 {
		return
	}
	kw := c.cur
	last := len(kw.ws) - 1
	if kw.index != nil {
		delete(kw.index, w)
		if i != last {
			kw.index[kw.ws[last]] = int32(i)
		}
	}
	var zero Acc
	kw.ws[i], kw.accs[i] = kw.ws[last], kw.accs[last]
	kw.accs[last] = zero // drop references
	kw.ws, kw.accs = kw.ws[:last], kw.accs[:last]
	if last == 0 {
		c.dropIfEmpty()
	}
}

// entry returns the current key's entry, adding one if it has none.
func (c *heapContents[K, Acc]) entry() *keyWindows[Acc] {
	if c.cur != nil {
		return c.cur
	}
	if k := len(c.free); k > 0 {
		c.cur, c.free = c.free[k-1], c.free[:k-1]
	} else {
		c.cur = &keyWindows[Acc]{ws: make([]window.Window, 0, 8), accs: make([]Acc, 0, 8)}
	}
	c.m[c.key] = c.cur
	return c.cur
}

// dropIfEmpty forgets the current key if it has neither windows nor
// sessions, keeping its entry for another key.
func (c *heapContents[K, Acc]) dropIfEmpty() {
	kw := c.cur
	if len(kw.ws) > 0 || kw.set != nil {
		return
	}
	delete(c.m, c.key)
	c.cur = nil
	if len(c.free) < maxFreeKeys && kw.index == nil { // an indexed key had many windows: let it go
		c.free = append(c.free, kw)
	}
}

// session returns the current key's merging set, nil if it has none.
func (c *heapContents[K, Acc]) session() *window.MergingSet {
	if c.cur == nil {
		return nil
	}
	return c.cur.set
}

// keepSession makes s the current key's merging set if it has windows,
// and takes the key's set away if s has none.
func (c *heapContents[K, Acc]) keepSession(s *window.MergingSet) {
	if s.Len() > 0 {
		c.entry().set = s
		return
	}
	if c.cur != nil {
		c.cur.set = nil
		c.dropIfEmpty()
	}
}

// sessionKeys returns the keys with sessions.
func (c *heapContents[K, Acc]) sessionKeys() []K {
	var ks []K
	for k, kw := range c.m {
		if kw.set != nil {
			ks = append(ks, k)
		}
	}
	return ks
}

func (c *heapContents[K, Acc]) windows() []window.Window {
	if c.cur == nil {
		return nil
	}
	return append([]window.Window(nil), c.cur.ws...)
}

func (c *heapContents[K, Acc]) keys() []K {
	ks := make([]K, 0, len(c.m))
	for k, kw := range c.m {
		if len(kw.ws) > 0 {
			ks = append(ks, k)
		}
	}
	return ks
}

func (c *heapContents[K, Acc]) entries() int {
	n := 0
	for _, kw := range c.m {
		n += len(kw.ws)
	}
	return n
}

func (c *heapContents[K, Acc]) toState() func() {
	cur := c.b.CurrentKey()
	for k, kw := range c.m {
		if len(kw.ws) == 0 {
			continue
		}
		c.b.SetCurrentKey(k)
		for i, w := range kw.ws {
			c.st.Put(w, kw.accs[i])
		}
	}
	c.b.SetCurrentKey(cur)
	return func() {
		for k, kw := range c.m {
			if len(kw.ws) == 0 {
				continue
			}
			c.b.SetCurrentKey(k)
			c.st.Clear()
		}
		c.b.SetCurrentKey(cur)
	}
}

func (c *heapContents[K, Acc]) fromState() {
	cur := c.b.CurrentKey()
	clear(c.m)
	for _, k := range c.b.Keys("window-contents") {
		c.b.SetCurrentKey(k)
		c.setKey(k)
		for w, acc := range c.st.All() {
			c.put(w, acc)
		}
		c.st.Clear()
	}
	c.b.SetCurrentKey(cur)
	c.setKey(cur)
}
