package async

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// modelEntry is one element in the reference model: everything put, in
// input order, never removed, so that the rules read as plain scans.
type modelEntry struct {
	marker  bool
	in      int // the value put: the record's input or the marker
	key     uint64
	handle  Handle
	done    bool
	result  int
	failed  bool
	emitted bool
}

// queueModel is a deliberately naive model of the Queue's rules.
type queueModel struct {
	mode     Mode
	capacity int
	entries  []modelEntry
}

func (m *queueModel) live() int {
	n := 0
	for _, e := range m.entries {
		if !e.emitted {
			n++
		}
	}
	return n
}

// emittable reports whether entry i may leave now. Nothing crosses an
// unemitted marker; a marker waits for everything before it; Ordered waits
// for everything before, KeyOrdered for records of the same key.
func (m *queueModel) emittable(i int) bool {
	e := m.entries[i]
	if e.emitted || (!e.marker && !e.done) {
		return false
	}
	for _, b := range m.entries[:i] {
		if b.emitted {
			continue
		}
		if b.marker || e.marker || m.mode == Ordered || (m.mode == KeyOrdered && b.key == e.key) {
			return false
		}
	}
	return true
}

func (m *queueModel) anyEmittable() bool {
	for i := range m.entries {
		if m.emittable(i) {
			return true
		}
	}
	return false
}

// fuzzRun applies the operations encoded in data to q and the model.
type fuzzRun struct {
	t     *testing.T
	q     *Queue[int, int]
	m     *queueModel
	byRef map[Handle]int // handle -> model index
	seq   int
}

// FuzzQueue compares the Queue with queueModel under random sequences of
// puts, markers, completions (some repeated), failures and pops. Byte 0
// picks the mode and capacity, then each byte is an operation and its
// argument.
func FuzzQueue(f *testing.F) {
	f.Add([]byte{0, 0x00, 0x00, 0x01, 0x00, 0x12, 0x22, 0x04, 0x04, 0x04})
	f.Add([]byte{1, 0x00, 0x10, 0x01, 0x00, 0x32, 0x12, 0x04, 0x02, 0x04, 0x04})
	f.Add([]byte{2, 0x00, 0x10, 0x20, 0x01, 0x30, 0x22, 0x42, 0x04, 0x12, 0x04})
	f.Add([]byte{5, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x12, 0x22, 0x03, 0x04, 0x04})
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	mode, capacity := Mode(data[0]%3), 1+int(data[0]/3%8)
	r := &fuzzRun{t: t, q: newTestQueue[int, int](t, mode, capacity),
		m: &queueModel{mode: mode, capacity: capacity}, byRef: map[Handle]int{}}
	for _, b := range data[1:] {
		r.apply(b&0x0f, int(b>>4))
		r.compare()
	}
	r.finish()
}

func (r *fuzzRun) apply(op byte, arg int) {
	switch op % 6 {
	case 0:
		r.put(uint64(arg % 3))
	case 1:
		r.putMarker()
	case 2, 3:
		r.complete(arg, op == 3)
	case 4:
		r.pop()
	case 5:
		r.completeEmitted(arg)
	}
}

func (r *fuzzRun) put(key uint64) {
	r.seq++
	h, err := r.q.Put(r.seq, int64(r.seq), key)
	if full := r.m.live() == r.m.capacity; full != errors.Is(err, ErrFull) || (!full && err != nil) {
		r.t.Fatalf("Put with %d/%d live: %v", r.m.live(), r.m.capacity, err)
	}
	if err == nil {
		r.byRef[h] = len(r.m.entries)
		r.m.entries = append(r.m.entries, modelEntry{in: r.seq, key: key, handle: h})
	}
}

func (r *fuzzRun) putMarker() {
	r.seq++
	err := r.q.PutMarker(r.seq)
	if full := r.m.live() == r.m.capacity; full != errors.Is(err, ErrFull) || (!full && err != nil) {
		r.t.Fatalf("PutMarker with %d/%d live: %v", r.m.live(), r.m.capacity, err)
	}
	if err == nil {
		r.m.entries = append(r.m.entries, modelEntry{marker: true, in: r.seq})
	}
}

// complete completes or fails the arg-th record of the model, counted
// among all records ever put so that completed and emitted ones are
// picked too: the queue must refuse those.
func (r *fuzzRun) complete(arg int, fail bool) {
	recs := r.records()
	if len(recs) == 0 {
		return
	}
	i := recs[arg%len(recs)]
	e := &r.m.entries[i]
	var ok bool
	if fail {
		ok = r.q.Fail(e.handle, fmt.Errorf("boom %d", i))
	} else {
		ok = r.q.Complete(e.handle, []int{1000 + i})
	}
	if want := !e.done && !e.emitted; ok != want {
		r.t.Fatalf("completing record %d (done %v, emitted %v) returned %v", i, e.done, e.emitted, ok)
	}
	if ok {
		e.done, e.failed, e.result = true, fail, 1000+i
	}
}

// completeEmitted completes the newest record already emitted, whose slot
// may hold a new record by now.
func (r *fuzzRun) completeEmitted(arg int) {
	for i := len(r.m.entries) - 1 - arg; i >= 0; i-- {
		if e := r.m.entries[i]; e.emitted && !e.marker {
			if r.q.Complete(e.handle, []int{-1}) {
				r.t.Fatalf("emitted record %d completed again", i)
			}
			return
		}
	}
}

func (r *fuzzRun) records() []int {
	var out []int
	for i, e := range r.m.entries {
		if !e.marker {
			out = append(out, i)
		}
	}
	return out
}

// pop checks that what leaves may leave by the model, carries what was
// completed, and leaves once; and that nothing is held back.
func (r *fuzzRun) pop() {
	got, ok := r.q.Pop()
	if !ok {
		if r.m.anyEmittable() {
			r.t.Fatalf("Pop gave nothing but the model can emit; model %+v", r.m.entries)
		}
		return
	}
	i := r.modelIndex(got)
	if !r.m.emittable(i) {
		r.t.Fatalf("popped entry %d (%+v), which may not leave now; model %+v", i, got, r.m.entries)
	}
	e := &r.m.entries[i]
	if !e.marker && (e.failed != (got.Err != nil) || (!e.failed && got.Results[0] != e.result)) {
		r.t.Fatalf("popped record %d with %v/%v, completed with %d failed=%v", i, got.Results, got.Err, e.result, e.failed)
	}
	e.emitted = true
}

// modelIndex finds the model entry of a popped entry; it must be one put
// and not yet emitted.
func (r *fuzzRun) modelIndex(got Entry[int, int]) int {
	if !got.IsMarker() {
		i, ok := r.byRef[got.Handle]
		if !ok || r.m.entries[i].emitted || r.m.entries[i].in != got.In || int64(got.In) != got.Ts {
			r.t.Fatalf("popped unknown or emitted record %+v", got)
		}
		return i
	}
	for i, e := range r.m.entries {
		if e.marker && e.in == got.Marker.(int) {
			if e.emitted {
				r.t.Fatalf("marker %v popped twice", got.Marker)
			}
			return i
		}
	}
	r.t.Fatalf("popped unknown marker %v", got.Marker)
	return -1
}

// compare checks the counters and Pending against the model.
func (r *fuzzRun) compare() {
	var want []string
	for _, e := range r.m.entries {
		if e.emitted {
			continue
		}
		want = append(want, fmt.Sprint(e.marker, e.key))
	}
	var got []string
	for _, p := range r.q.Pending() {
		got = append(got, fmt.Sprint(p.IsMarker(), p.Key))
	}
	if !slices.Equal(got, want) || r.q.Len() != len(want) ||
		r.q.Full() != (len(want) == r.m.capacity) || r.q.Len() > r.m.capacity {
		r.t.Fatalf("Pending %v, Len %d; model %v", got, r.q.Len(), want)
	}
}

// finish completes every record and drains through pop's checks:
// everything put leaves, once, in an order the model allows.
func (r *fuzzRun) finish() {
	for _, i := range r.records() {
		if e := &r.m.entries[i]; !e.done && !e.emitted {
			r.q.Complete(e.handle, []int{1000 + i})
			e.done, e.result = true, 1000+i
		}
	}
	for !r.q.Empty() {
		n := r.q.Len()
		if r.pop(); r.q.Len() != n-1 {
			r.t.Fatalf("queue stuck with %d entries, all completed", n)
		}
	}
	if _, ok := r.q.Pop(); ok {
		r.t.Fatal("empty queue popped an entry")
	}
	for i, e := range r.m.entries {
		if !e.emitted {
			r.t.Fatalf("entry %d (%+v) never left", i, e)
		}
	}
}
