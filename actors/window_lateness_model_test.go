package actors_test

import (
	"cmp"
	"math"
	"slices"
	"testing"
)

// lateEvent is a record of the lateness tests: an input record (Seq ≥ 0),
// a watermark marker (Seq −1, see lateMarker), or a window's result (Val
// and N summed over the window's records).
type lateEvent struct {
	Seq int64 `json:"seq"`
	Key int64 `json:"key"`
	Ts  int64 `json:"ts"`
	Val int64 `json:"val"`
	N   int64 `json:"n"`
	Wm  int64 `json:"wm"` // the watermark the source promises before this record
}

// The lateness tests' input: event time advances 5 ms a record from
// 1000, the watermark before record i is 20 ms behind it, and one record
// in eight is late by 0 to 299 ms: some only for a window that has not
// fired yet, some within the allowed lateness of a window that has fired
// (it fires again), some past it (the late side output).
const (
	lateKeys     = 16
	lateStep     = 5
	lateDelay    = 20
	lateSpread   = 300
	lateLateness = 120 // ms
)

// lateInput is record i of the lateness tests' source.
func lateInput(i int64) lateEvent {
	h := splitmix64(uint64(i))
	base := 1000 + lateStep*i
	wm := base - lateDelay
	ts := base - int64(h>>8%lateDelay) // above wm: on time
	if h%8 == 0 {
		ts = wm - int64(h>>8%lateSpread)
	}
	return lateEvent{Seq: i, Key: int64(h >> 40 % lateKeys), Ts: ts, Val: i + 1, N: 1, Wm: wm}
}

// splitmix64 spreads consecutive integers over all bits, deterministically.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// firing is one result of a window: its key, its last timestamp (the
// result's timestamp), and the count and sum of the records it had when
// it fired. A window that fires again with a late record has one more.
type firing struct {
	Key, End, N, Sum int64
}

// lateKind is what a record did in the reference model.
type lateKind uint8

const (
	inWindow lateKind = iota // added to windows that have not fired
	refired                  // added to a fired window within lateness, which fired again
	tooLate                  // too late for all its windows: the late side output
)

func (k lateKind) String() string {
	return [...]string{inWindow: "is added to windows that have not fired", refired: "fires a window again", tooLate: "is too late"}[k]
}

// lateModel is Flink's WindowOperator with the EventTimeTrigger, allowed
// lateness and a late side output, restated plainly for one stream of
// records and watermarks in order (every subtask of the tested operator
// sees the same watermarks, and its keys' records in this order):
//
//   - a record's windows are the windows [start, start+size) that hold
//     its timestamp, start a multiple of slide (tumbling: slide = size);
//   - a window is late when its last timestamp + lateness ≤ watermark;
//     the record is not added to it;
//   - added to a window whose last timestamp ≤ watermark (it has fired),
//     the record fires it at once, with its contents so far; otherwise
//     the window's timer is set for its last timestamp;
//   - a watermark fires every window whose timer it reaches, then drops
//     every window whose last timestamp + lateness it reaches;
//   - a record added to none of its windows whose timestamp + lateness
//     ≤ watermark goes to the late side output.
type lateModel struct {
	size, slide, lateness int64
	wm                    int64
	windows               map[firingWindow]*modelWindow
	fires                 []firing
	late                  []lateEvent
	kinds                 []lateKind // by Seq
}

type firingWindow struct{ key, end int64 }

type modelWindow struct {
	n, sum int64
	timer  bool
}

// runLateModel returns what Flink's window operator emits for records
// 0 … n−1 of lateInput followed by the end of input.
func runLateModel(n, size, slide, lateness int64) *lateModel {
	m := newLateModel(size, slide, lateness)
	for i := range n {
		e := lateInput(i)
		m.advance(e.Wm)
		m.kinds = append(m.kinds, m.record(e))
	}
	m.advance(math.MaxInt64)
	return m
}

func newLateModel(size, slide, lateness int64) *lateModel {
	return &lateModel{size: size, slide: slide, lateness: lateness, wm: math.MinInt64,
		windows: map[firingWindow]*modelWindow{}}
}

// record adds a record at the current watermark and says what it did.
func (m *lateModel) record(e lateEvent) lateKind {
	kind, added := inWindow, false
	for _, end := range m.ends(e.Ts) {
		if end+m.lateness <= m.wm {
			continue // a late window
		}
		added = true
		fw := firingWindow{e.Key, end}
		w := m.windows[fw]
		if w == nil {
			w = &modelWindow{}
			m.windows[fw] = w
		}
		w.n, w.sum = w.n+1, w.sum+e.Val
		if end <= m.wm {
			m.fires = append(m.fires, firing{e.Key, end, w.n, w.sum})
			kind = refired
		} else {
			w.timer = true
		}
	}
	if !added && e.Ts+m.lateness <= m.wm {
		m.late = append(m.late, e)
		return tooLate
	}
	return kind
}

// ends returns the last timestamps of the windows holding ts.
func (m *lateModel) ends(ts int64) []int64 {
	var ends []int64
	for start := ts - ts%m.slide; start > ts-m.size; start -= m.slide {
		ends = append(ends, start+m.size-1)
	}
	return ends
}

// advance fires the windows whose timers wm reaches, in a fixed order,
// then drops those past their lateness.
func (m *lateModel) advance(wm int64) {
	if wm <= m.wm {
		return
	}
	m.wm = wm
	ready := slices.SortedFunc(func(yield func(firingWindow) bool) {
		for fw, w := range m.windows {
			if w.timer && fw.end <= wm && !yield(fw) {
				return
			}
		}
	}, func(a, b firingWindow) int { return cmp.Or(cmp.Compare(a.end, b.end), cmp.Compare(a.key, b.key)) })
	for _, fw := range ready {
		w := m.windows[fw]
		w.timer = false
		m.fires = append(m.fires, firing{fw.key, fw.end, w.n, w.sum})
	}
	for fw := range m.windows {
		if fw.end+m.lateness <= wm {
			delete(m.windows, fw)
		}
	}
}

// count returns how many records did what kind says.
func (m *lateModel) count(kind lateKind) int {
	n := 0
	for _, k := range m.kinds {
		if k == kind {
			n++
		}
	}
	return n
}

// The reference model itself, on a stream small enough to check by hand.
func TestLateModel_flinkRules(t *testing.T) {
	rec := func(ts, v int64) lateEvent { return lateEvent{Seq: v, Key: 1, Ts: ts, Val: v, N: 1} }
	tumbling := newLateModel(10, 10, 5) // windows end at 9, 19, …; lateness 5
	tumbling.advance(0)
	kinds := []lateKind{tumbling.record(rec(3, 1))}   // window 9: its timer
	tumbling.advance(9)                               // fires 9
	kinds = append(kinds, tumbling.record(rec(5, 2))) // 9 fired, within lateness: fires again
	tumbling.advance(14)                              // 9's state goes: 9 + 5 ≤ 14
	kinds = append(kinds, tumbling.record(rec(8, 4)), // 9 is gone, 8 + 5 ≤ 14: late output
		tumbling.record(rec(12, 8))) // below the watermark, but 19 has not fired
	tumbling.advance(math.MaxInt64) // fires 19
	wantFires := []firing{{1, 9, 1, 1}, {1, 9, 2, 3}, {1, 19, 1, 8}}
	if !slices.Equal(tumbling.fires, wantFires) || !slices.Equal(kinds, []lateKind{inWindow, refired, tooLate, inWindow}) ||
		len(tumbling.late) != 1 || tumbling.late[0].Seq != 4 {
		t.Fatalf("tumbling: fires %v, kinds %v, late %v", tumbling.fires, kinds, tumbling.late)
	}

	sliding := newLateModel(10, 5, 0) // windows of 10 every 5; no lateness
	sliding.advance(9)
	kinds = []lateKind{sliding.record(rec(7, 1)), // window 9 is late, 14 is not
		sliding.record(rec(3, 2))} // windows 4 and 9 are late: late output
	sliding.advance(math.MaxInt64)
	if !slices.Equal(sliding.fires, []firing{{1, 14, 1, 1}}) || !slices.Equal(kinds, []lateKind{inWindow, tooLate}) {
		t.Fatalf("sliding: fires %v, kinds %v", sliding.fires, kinds)
	}
}
