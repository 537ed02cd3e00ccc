package window

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// mergeLog records MergeFunc calls as "result<-merged state:stateResult<-stateMerged".
type mergeLog []string

func (l *mergeLog) merge(result Window, merged []Window, stateResult Window, stateMerged []Window) error {
	*l = append(*l, fmt.Sprint(result, "<-", merged, " state:", stateResult, "<-", stateMerged))
	return nil
}

// add adds w and checks the set's invariants afterwards.
func add(t *testing.T, s *MergingSet, log *mergeLog, w Window) Window {
	t.Helper()
	got, err := s.Add(w, log.merge)
	if err != nil {
		t.Fatalf("Add(%v): %v", w, err)
	}
	if !got.Contains(w.Start) || !got.Contains(w.MaxTimestamp()) {
		t.Fatalf("Add(%v) = %v, which does not hold it", w, got)
	}
	checkSet(t, s)
	return got
}

// checkSet checks that active windows are sorted, apart, and own their
// state windows, each used once.
func checkSet(t *testing.T, s *MergingSet) {
	t.Helper()
	pairs := s.Snapshot()
	for i, p := range pairs {
		if p.State.Start < p.Window.Start || p.State.End > p.Window.End {
			t.Fatalf("state window %v outside %v", p.State, p.Window)
		}
		if i > 0 && (pairs[i-1].Window.Intersects(p.Window) || pairs[i-1].Window.Start > p.Window.Start) {
			t.Fatalf("active windows %v and %v not sorted and apart", pairs[i-1].Window, p.Window)
		}
	}
}

func windowsOf(s *MergingSet) []Window {
	var ws []Window
	for _, p := range s.Snapshot() {
		ws = append(ws, p.Window)
	}
	return ws
}

func TestMergingSet_Add_apart(t *testing.T) {
	s, log := NewMergingSet(), &mergeLog{}
	add(t, s, log, Window{20, 25})
	add(t, s, log, Window{0, 5})
	add(t, s, log, Window{10, 15})
	wantWindows(t, windowsOf(s), Window{0, 5}, Window{10, 15}, Window{20, 25})
	if len(*log) != 0 {
		t.Fatalf("merges %q, want none", *log)
	}
}

// Checklist Windows 2: overlapping sessions merge; the result keeps the
// state window of the earliest.
func TestMergingSet_Add_merges(t *testing.T) {
	for _, c := range []struct {
		name   string
		add    Window
		result Window
		merges []string
		after  []Window
	}{
		{"inside: nothing to merge", Window{1, 3}, Window{0, 5}, nil,
			[]Window{{0, 5}, {10, 15}, {20, 25}}},
		{"equal", Window{10, 15}, Window{10, 15}, nil,
			[]Window{{0, 5}, {10, 15}, {20, 25}}},
		{"extends one", Window{3, 8}, Window{0, 8},
			[]string{"[0, 8)<-[[0, 5)] state:[0, 5)<-[]"},
			[]Window{{0, 8}, {10, 15}, {20, 25}}},
		{"touches one", Window{15, 17}, Window{10, 17},
			[]string{"[10, 17)<-[[10, 15)] state:[10, 15)<-[]"},
			[]Window{{0, 5}, {10, 17}, {20, 25}}},
		{"bridges two", Window{4, 11}, Window{0, 15},
			[]string{"[0, 15)<-[[0, 5) [10, 15)] state:[0, 5)<-[[10, 15)]"},
			[]Window{{0, 15}, {20, 25}}},
		{"covers all", Window{-1, 30}, Window{-1, 30},
			[]string{"[-1, 30)<-[[0, 5) [10, 15) [20, 25)] state:[0, 5)<-[[10, 15) [20, 25)]"},
			[]Window{{-1, 30}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, log := NewMergingSet(), &mergeLog{}
			for _, w := range []Window{{0, 5}, {10, 15}, {20, 25}} {
				add(t, s, log, w)
			}
			if got := add(t, s, log, c.add); got != c.result {
				t.Fatalf("Add(%v) = %v, want %v", c.add, got, c.result)
			}
			if !slices.Equal(*log, c.merges) {
				t.Fatalf("merges %q, want %q", *log, c.merges)
			}
			wantWindows(t, windowsOf(s), c.after...)
		})
	}
}

func TestMergingSet_StateWindow(t *testing.T) {
	s, log := NewMergingSet(), &mergeLog{}
	add(t, s, log, Window{10, 15})
	add(t, s, log, Window{0, 5})
	add(t, s, log, Window{4, 11}) // all into [0, 15), state [0, 5)
	if st, ok := s.StateWindow(Window{0, 15}); !ok || st != (Window{0, 5}) {
		t.Fatalf("StateWindow([0, 15)) = %v, %v", st, ok)
	}
	if _, ok := s.StateWindow(Window{10, 15}); ok {
		t.Fatal("merged-away window still has a state window")
	}
}

func TestMergingSet_Remove(t *testing.T) {
	s, log := NewMergingSet(), &mergeLog{}
	add(t, s, log, Window{0, 5})
	add(t, s, log, Window{10, 15})
	if !s.Remove(Window{0, 5}) || s.Remove(Window{0, 5}) || s.Remove(Window{10, 14}) {
		t.Fatal("Remove reported wrongly")
	}
	wantWindows(t, windowsOf(s), Window{10, 15})
	add(t, s, log, Window{3, 6}) // a new session where the removed one was
	if len(*log) != 0 || s.Len() != 2 {
		t.Fatalf("merges %q, Len %d", *log, s.Len())
	}
}

func TestMergingSet_Add_mergeError(t *testing.T) {
	s, log := NewMergingSet(), &mergeLog{}
	add(t, s, log, Window{0, 5})
	boom := errors.New("boom")
	_, err := s.Add(Window{3, 8}, func(Window, []Window, Window, []Window) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	wantWindows(t, windowsOf(s), Window{0, 5}) // unchanged
}

func TestMergingSet_Add_emptyWindow(t *testing.T) {
	if _, err := NewMergingSet().Add(Window{5, 5}, (&mergeLog{}).merge); !errors.Is(err, ErrInvalidWindow) {
		t.Fatalf("err = %v, want ErrInvalidWindow", err)
	}
}

func TestMergingSet_Restore(t *testing.T) {
	s, log := NewMergingSet(), &mergeLog{}
	add(t, s, log, Window{20, 25})
	add(t, s, log, Window{0, 5})
	add(t, s, log, Window{3, 8})
	snap := s.Snapshot()
	slices.Reverse(snap) // any order restores
	r := NewMergingSet()
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Snapshot(), s.Snapshot()) {
		t.Fatalf("restored %v, want %v", r.Snapshot(), s.Snapshot())
	}
	for _, bad := range [][]Pair{
		{{Window{0, 5}, Window{0, 5}}, {Window{5, 9}, Window{5, 9}}}, // touching
		{{Window{3, 3}, Window{3, 3}}},                               // empty
	} {
		if err := r.Restore(bad); !errors.Is(err, ErrInvalidWindow) || r.Len() != 0 {
			t.Fatalf("Restore(%v): err %v, Len %d", bad, err, r.Len())
		}
	}
}
