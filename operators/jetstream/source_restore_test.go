package jetstream

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/persistence"
)

// snapshotAll runs a bounded source of the given filters at parallelism
// n to its end and returns its subtasks' operator snapshots.
func snapshotAll(t *testing.T, s *jstest.Server, subjects []string, n int) []*persistence.OperatorSnapshot {
	t.Helper()
	snaps := make([]*persistence.OperatorSnapshot, n)
	for i := range n {
		h := openTestReader(t, SourceConfig[event]{URL: s.URL(), Stream: "IN", Subjects: subjects, Bounded: true}, i, n)
		if _, ended, err := reviewPoll(h, 10*time.Second); err != nil || !ended {
			t.Fatalf("subtask %d: ended %v, %v", i, ended, err)
		}
		st, err := h.r.SnapshotState(1)
		if err != nil {
			t.Fatal(err)
		}
		snaps[i] = st.Operator
		if err := h.r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return snaps
}

// restoreAll restores a source of the given filters at parallelism n from
// snaps, as the runtime deals operator state, and returns its subtasks.
func restoreAll(t *testing.T, s *jstest.Server, subjects []string, snaps []*persistence.OperatorSnapshot, n int) []*pollHarness {
	t.Helper()
	hs := make([]*pollHarness, n)
	for i, part := range persistence.Redistribute(snaps, n) {
		hs[i] = openTestReader(t, SourceConfig[event]{URL: s.URL(), Stream: "IN", Subjects: subjects, Bounded: true}, i, n)
		if err := hs[i].r.RestoreState([]*operators.OperatorState{{Operator: part}}); err != nil {
			t.Fatal(err)
		}
	}
	return hs
}

// readers returns which subtasks hold a split of each subject.
func readers(hs []*pollHarness) map[string][]int {
	out := map[string][]int{}
	for i, h := range hs {
		for _, sp := range h.r.splits {
			out[sp.Subject] = append(out[sp.Subject], i)
		}
	}
	return out
}

// Filters added to the configuration since the checkpoint are dealt to
// exactly one subtask each, at the same parallelism and at another, and
// read from the start; the restored ones stay where the runtime put them.
func TestReader_restoreDealsAddedFiltersOnce(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		publishEvents(t, s, "in."+k, k, 3)
	}
	snaps := snapshotAll(t, s, []string{"in.a", "in.b"}, 2)
	all := []string{"in.a", "in.b", "in.c", "in.d", "in.e"}
	for _, n := range []int{2, 3, 1} {
		t.Run(fmt.Sprint("at ", n), func(t *testing.T) {
			hs := restoreAll(t, s, all, snaps, n)
			held := readers(hs)
			for _, f := range all {
				if len(held[f]) != 1 {
					t.Errorf("filter %s is held by subtasks %v, want exactly one", f, held[f])
				}
			}
			var read []string
			for _, h := range hs {
				got, ended, err := reviewPoll(h, 10*time.Second)
				if err != nil || !ended {
					t.Fatalf("ended %v, %v", ended, err)
				}
				for _, e := range got {
					read = append(read, fmt.Sprint(e.Key, e.N))
				}
			}
			slices.Sort(read)
			if want := []string{"c1", "c2", "c3", "d1", "d2", "d3", "e1", "e2", "e3"}; !slices.Equal(read, want) {
				t.Errorf("read %v, want %v: the added subjects once each, from the start, nothing of in.a and in.b again", read, want)
			}
		})
	}
}

// A filter removed from the configuration is no longer read after a
// restore, whatever the checkpoint held.
func TestReader_restoreDropsAFilterNoLongerConfigured(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", 3)
	publishEvents(t, s, "in.b", "b", 3)
	snaps := snapshotAll(t, s, []string{"in.a", "in.b"}, 1)
	publishEvents(t, s, "in.a", "a", 3) // after the checkpoint's bounded end: never read anyway
	hs := restoreAll(t, s, []string{"in.b"}, snaps, 1)
	if held := readers(hs); len(held) != 1 || len(held["in.b"]) != 1 {
		t.Errorf("restored with Subjects [in.b] from [in.a in.b]: splits of %v, want in.b only", held)
	}
}

// A checkpoint written before the source recorded its filters (no union
// list) cannot tell an added filter from one another subtask holds: no
// subtask adds it, so nothing is read twice.
func TestReader_restoreFromACheckpointWithoutItsFilters(t *testing.T) {
	s := jstest.RunServer(t)
	s.CreateStream(t, "IN", "in.>")
	publishEvents(t, s, "in.a", "a", 3)
	publishEvents(t, s, "in.b", "b", 3)
	snaps := snapshotAll(t, s, []string{"in.a", "in.b"}, 2)
	for _, sn := range snaps {
		delete(sn.Union, subjectsUnion) // as an older version wrote it
	}
	hs := restoreAll(t, s, []string{"in.a", "in.b", "in.c"}, snaps, 2)
	held := readers(hs)
	if len(held["in.c"]) != 0 || len(held["in.a"]) != 1 || len(held["in.b"]) != 1 {
		t.Errorf("restored from a checkpoint without its filters: splits held %v, want in.a and in.b once, in.c by none", held)
	}
}
