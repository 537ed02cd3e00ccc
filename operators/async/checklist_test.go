package async

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// elem is one input element of a simulated operator: a record, or a
// marker when mark is set.
type elem struct {
	mark string
	v    int
	ts   int64
	key  uint64
}

func rec(v int, ts int64) elem { return elem{v: v, ts: ts} }
func wm(name string) elem      { return elem{mark: name} }

// sim drives a Queue as the sequencer actor will: it consumes input while
// the queue has room, lets pick choose which outstanding call completes
// next, and pops after every event. f is the async function.
type sim struct {
	q       *Queue[int, int]
	f       func(int) []int
	pick    func(n int) int // index among the outstanding calls, oldest first
	calls   []Handle
	inputs  map[Handle]int
	out     []string
	blocked int // times input waited on a full queue: backpressure
}

func newSim(t testing.TB, mode Mode, capacity int, f func(int) []int, pick func(int) int) *sim {
	return &sim{q: newTestQueue[int, int](t, mode, capacity), f: f, pick: pick, inputs: map[Handle]int{}}
}

func (s *sim) run(t testing.TB, input []elem) []string {
	t.Helper()
	for len(input) > 0 || len(s.calls) > 0 {
		if len(input) > 0 && !s.q.Full() {
			s.put(t, input[0])
			input = input[1:]
		} else {
			if len(input) > 0 {
				s.blocked++
			}
			s.completeOne()
		}
		s.drain()
	}
	if !s.q.Empty() {
		t.Fatalf("queue not empty at the end: %v", s.q.Pending())
	}
	return s.out
}

func (s *sim) put(t testing.TB, e elem) {
	t.Helper()
	if e.mark != "" {
		if err := s.q.PutMarker(e.mark); err != nil {
			t.Fatalf("PutMarker(%s): %v", e.mark, err)
		}
		return
	}
	h, err := s.q.Put(e.v, e.ts, e.key)
	if err != nil {
		t.Fatalf("Put(%d): %v", e.v, err)
	}
	s.calls = append(s.calls, h)
	s.inputs[h] = e.v
}

func (s *sim) completeOne() {
	i := s.pick(len(s.calls))
	h := s.calls[i]
	s.calls = slices.Delete(s.calls, i, i+1)
	s.q.Complete(h, s.f(s.inputs[h]))
}

func (s *sim) drain() {
	for e, ok := s.q.Pop(); ok; e, ok = s.q.Pop() {
		if e.IsMarker() {
			s.out = append(s.out, e.Marker.(string))
			continue
		}
		for _, r := range e.Results {
			s.out = append(s.out, fmt.Sprintf("%d@%d", r, e.Ts))
		}
	}
}

func double(x int) []int { return []int{2 * x} }
func newest(n int) int   { return n - 1 }
func oldest(int) int     { return 0 }

// Checklist 1: ordered, capacity 2, calls completing newest first.
func TestQueue_orderedWatermark(t *testing.T) {
	for name, pick := range map[string]func(int) int{"newest first": newest, "oldest first": oldest} {
		t.Run(name, func(t *testing.T) {
			s := newSim(t, Ordered, 2, double, pick)
			got := s.run(t, []elem{rec(1, 1), rec(2, 2), wm("WM2"), rec(3, 3)})
			if want := "2@1 4@2 WM2 6@3"; strings.Join(got, " ") != want {
				t.Errorf("output %v, want %s", got, want)
			}
		})
	}
}

// Checklist 2: unordered, same input: the watermark stays third, the two
// records before it may swap, 6@3 comes after it.
func TestQueue_unorderedWatermark(t *testing.T) {
	tests := []struct {
		name string
		pick func(int) int
		want string
	}{
		{"newest first swaps", newest, "4@2 2@1 WM2 6@3"},
		{"oldest first keeps", oldest, "2@1 4@2 WM2 6@3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, Unordered, 2, double, tt.pick)
			got := s.run(t, []elem{rec(1, 1), rec(2, 2), wm("WM2"), rec(3, 3)})
			if strings.Join(got, " ") != tt.want {
				t.Errorf("output %v, want %s", got, tt.want)
			}
		})
	}
}

// Checklist 3: more records than capacity, random completion order: all
// come out, input waited while the queue was full, nothing is dropped,
// and records stay between their markers.
func TestQueue_moreThanCapacity(t *testing.T) {
	var input []elem
	for i := 1; i <= 40; i++ {
		input = append(input, rec(i, int64(i)))
		if i%5 == 0 {
			input = append(input, wm(fmt.Sprintf("WM%d", i)))
		}
	}
	for _, mode := range []Mode{Ordered, Unordered, KeyOrdered} {
		t.Run(mode.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(mode)))
			s := newSim(t, mode, 3, double, func(n int) int { return r.IntN(n) })
			got := s.run(t, input)
			if s.blocked == 0 {
				t.Error("input never waited on a full queue")
			}
			checkBetweenMarkers(t, got, input, mode == Ordered)
		})
	}
}

// checkBetweenMarkers checks that got holds every record's output exactly
// once, each between the markers it had in the input, and, when ordered,
// in input order.
func checkBetweenMarkers(t testing.TB, got []string, input []elem, ordered bool) {
	t.Helper()
	var want []string
	groupStart := 0
	flush := func(end int) {
		g := slices.Clone(want[groupStart:end])
		h := slices.Clone(got[min(groupStart, len(got)):min(end, len(got))])
		if !ordered {
			slices.Sort(g)
			slices.Sort(h)
		}
		if !slices.Equal(g, h) {
			t.Fatalf("output %v, want %v (between markers, ordered=%v)", got, want, ordered)
		}
	}
	for _, e := range input {
		if e.mark != "" {
			flush(len(want))
			want = append(want, e.mark)
			groupStart = len(want)
			continue
		}
		want = append(want, fmt.Sprintf("%d@%d", 2*e.v, e.ts))
	}
	flush(len(want))
	if len(got) != len(want) {
		t.Fatalf("output has %d elements, want %d", len(got), len(want))
	}
}

// Checklist 16: a function completing the same record ten times per
// attempt yields one output and one retry chain, when the sequencer checks
// each reply's attempt against the queue.
func TestQueue_repeatedCompletion(t *testing.T) {
	q := newTestQueue[int, int](t, Ordered, 2)
	strategy := FixedDelay(3, 0)
	h, _ := q.Put(1, 1, 0)
	retries, accepted := 0, 0
	// reply is what the sequencer does with an invoker's reply.
	reply := func(attempt int, res []int, callErr error) {
		if cur, ok := q.Attempt(h); !ok || cur != attempt {
			return // late or repeated reply to an attempt that is over
		}
		if _, again := strategy.Next(attempt, callErr, len(res) == 0); again {
			q.NextAttempt(h)
			retries++
			return
		}
		if q.Complete(h, res) {
			accepted++
		}
	}
	for range 10 {
		reply(1, nil, fmt.Errorf("flaky"))
	}
	for range 10 {
		reply(2, []int{2}, nil)
	}
	var out []Entry[int, int]
	for e, ok := q.Pop(); ok; e, ok = q.Pop() {
		out = append(out, e)
	}
	if retries != 1 || accepted != 1 || len(out) != 1 || out[0].Results[0] != 2 {
		t.Errorf("retries %d, accepted %d, output %+v; want 1, 1, one result 2", retries, accepted, out)
	}
	// Completing it again directly, after it left, is refused too.
	if q.Complete(h, []int{3}) {
		t.Error("completed a record that has left")
	}
}
