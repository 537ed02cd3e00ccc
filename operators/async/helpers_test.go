package async

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// newTestQueue returns a queue whose internal invariants are checked when
// the test ends.
func newTestQueue[In, Out any](t testing.TB, mode Mode, capacity int) *Queue[In, Out] {
	t.Helper()
	q, err := NewQueue[In, Out](mode, capacity)
	if err != nil {
		t.Fatalf("NewQueue(%v, %d): %v", mode, capacity, err)
	}
	t.Cleanup(func() {
		if err := q.check(); err != nil {
			t.Errorf("queue invariants: %v", err)
		}
	})
	return q
}

// check verifies the bookkeeping the public methods rely on.
func (q *Queue[In, Out]) check() error {
	live, records, markers := 0, 0, 0
	for i := range q.slots {
		e := &q.slots[i]
		if e.seq == 0 {
			continue
		}
		live++
		if e.kind == KindMarker {
			markers++
			continue
		}
		records++
	}
	segRecords := 0
	for i := range q.segs.len() {
		segRecords += q.segs.at(i).records
	}
	switch {
	case live != q.live || live > q.capacity:
		return fmt.Errorf("live %d, counter %d, capacity %d", live, q.live, q.capacity)
	case live+len(q.free) != len(q.slots):
		return fmt.Errorf("live %d + free %d != slots %d", live, len(q.free), len(q.slots))
	case segRecords != records:
		return fmt.Errorf("segments count %d records, slots hold %d", segRecords, records)
	case q.segs.len() != markers+1:
		return fmt.Errorf("%d segments for %d markers", q.segs.len(), markers)
	case q.mode == Ordered && (q.one.head == none) != (records == 0):
		return fmt.Errorf("ordered chain head %d with %d records", q.one.head, records)
	}
	return nil
}

// script runs a queue through a list of steps written as data, so that
// table cases differ only in data. Records are "rN" (input N, timestamp N,
// key 0) or "rN/K" (key K); markers are "mN". Popped records are named
// without their key ("r1/2" pops as "r1"), failed ones with "!". Steps:
//
//	put X...   put entries, each must fit
//	full X     putting X must return ErrFull
//	done rN... complete records with result 10×N; each must be awaiting
//	dup rN     completing rN again must return false
//	fail rN    fail the record
//	pop X...   pop until nothing leaves; must give exactly X... ("-" for none)
type script struct {
	t       testing.TB
	q       *Queue[int, int]
	handles map[string]Handle
}

func runScript(t testing.TB, mode Mode, capacity int, steps []string) {
	t.Helper()
	s := &script{t: t, q: newTestQueue[int, int](t, mode, capacity), handles: map[string]Handle{}}
	for i, step := range steps {
		f := strings.Fields(step)
		if err := s.step(f[0], f[1:]); err != nil {
			t.Fatalf("step %d %q: %v", i, step, err)
		}
	}
}

func (s *script) step(op string, args []string) error {
	switch op {
	case "put":
		for _, a := range args {
			if err := s.put(a); err != nil {
				return fmt.Errorf("put %s: %w", a, err)
			}
		}
	case "full":
		if err := s.put(args[0]); err != ErrFull {
			return fmt.Errorf("got %v, want ErrFull", err)
		}
	case "done", "dup", "fail":
		return s.finish(op, args)
	case "pop":
		got := strings.Join(s.drain(), " ")
		if want := strings.Join(args, " "); got != want {
			return fmt.Errorf("popped %q, want %q", got, want)
		}
	default:
		return fmt.Errorf("unknown op %q", op)
	}
	return nil
}

func (s *script) put(name string) error {
	if strings.HasPrefix(name, "m") {
		return s.q.PutMarker(name)
	}
	n, key := parseRecord(name)
	h, err := s.q.Put(n, int64(n), key)
	if err == nil {
		s.handles[name] = h
	}
	return err
}

func (s *script) finish(op string, args []string) error {
	for _, a := range args {
		h, ok := s.handles[a]
		if !ok {
			return fmt.Errorf("no record %s", a)
		}
		n, _ := parseRecord(a)
		var got bool
		if op == "fail" {
			got = s.q.Fail(h, fmt.Errorf("boom %d", n))
		} else {
			got = s.q.Complete(h, []int{10 * n})
		}
		if want := op != "dup"; got != want {
			return fmt.Errorf("%s %s returned %v", op, a, got)
		}
	}
	return nil
}

// drain pops until nothing leaves; it names records by input ("r1"), marks
// failed ones with "!" and returns "-" when nothing left.
func (s *script) drain() []string {
	var out []string
	for e, ok := s.q.Pop(); ok; e, ok = s.q.Pop() {
		switch {
		case e.IsMarker():
			out = append(out, e.Marker.(string))
		case e.Err != nil:
			out = append(out, fmt.Sprintf("r%d!", e.In))
		default:
			out = append(out, fmt.Sprintf("r%d", e.In))
		}
	}
	if len(out) == 0 {
		return []string{"-"}
	}
	return out
}

// parseRecord reads "rN" or "rN/K" (K the key hash; default 0).
func parseRecord(name string) (n int, key uint64) {
	num, k, _ := strings.Cut(strings.TrimPrefix(name, "r"), "/")
	n, _ = strconv.Atoi(num)
	if k != "" {
		kk, _ := strconv.Atoi(k)
		key = uint64(kk)
	}
	return n, key
}
