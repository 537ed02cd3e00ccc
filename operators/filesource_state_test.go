package operators

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// lineRun runs the subtasks of a ReadLines source ("lines") into a
// collecting sink, for position tests.
type lineRun struct {
	t    testing.TB
	v    *Vertex
	col  *Collected[string]
	subs []*testSubtask
}

func startLines(t testing.TB, path string, par int, restore func(i int) map[string][]*OperatorState) *lineRun {
	t.Helper()
	p := NewPipeline("t").SetParallelism(par)
	r := &lineRun{t: t, col: Collect(ReadLines(p, path).Name("lines"))}
	r.v = onlyVertex(t, p)
	for i := range par {
		var parts map[string][]*OperatorState
		if restore != nil {
			parts = restore(i)
		}
		s, err := openStateful(t, r.v, i, parts)
		if err != nil {
			t.Fatalf("open subtask %d: %v", i, err)
		}
		r.subs = append(r.subs, s)
	}
	return r
}

// pollEach polls each subtask a random number of times, at most upTo.
func (r *lineRun) pollEach(rng *rand.Rand, upTo int) {
	for _, s := range r.subs {
		s.pollTimes(rng.IntN(upTo + 1))
	}
}

func (r *lineRun) snapshot(id int64) []encodedState {
	var snaps []encodedState
	for _, s := range r.subs {
		snaps = append(snaps, s.snapshot(id))
	}
	return snaps
}

// commitAll commits what the collect sink holds up to checkpoint id.
func (r *lineRun) commitAll(id int64) {
	for _, s := range r.subs {
		s.notify(id)
	}
}

func (r *lineRun) finish() {
	for _, s := range r.subs {
		for done := false; !done; {
			done = s.pollTimes(100)
		}
		if err := s.chain.EndInput(); err != nil {
			r.t.Fatal(err)
		}
	}
	r.commitAll(EndOfJob)
}

// TestReadLines_restore_exactlyOnce reads a file at parallelism 1, 2 or 3,
// takes a checkpoint at a random point, and restores from it at 1 to 4
// subtasks: with the lines before the checkpoint, the restored run emits
// every line exactly once.
func TestReadLines_restore_exactlyOnce(t *testing.T) {
	data := manyLines(9000) + "last line without newline"
	path := writeFile(t, "in.txt", data)
	want := strings.Split(data, "\n")
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, from := range []int{1, 2, 3} {
		for _, to := range []int{1, 2, 3, 4} {
			t.Run(fmt.Sprintf("%d to %d", from, to), func(t *testing.T) {
				before := startLines(t, path, from, nil)
				before.pollEach(rng, 12)
				snaps := before.snapshot(1)
				before.pollEach(rng, 4) // after the checkpoint: replayed
				before.commitAll(1)
				got := before.col.Values()
				after := startLines(t, path, to, func(i int) map[string][]*OperatorState {
					return restoreParts(t, snaps, i, to, "lines")
				})
				after.finish()
				got = append(got, after.col.Values()...)
				if slices.Sort(got); !slices.Equal(got, sorted(want)) {
					t.Fatalf("seed %d: %d lines emitted, want each of %d once", seed, len(got), len(want))
				}
			})
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// The lines of one split keep their file order across a restore.
func TestReadLines_restore_keepsOrder(t *testing.T) {
	data := manyLines(5000)
	path := writeFile(t, "in.txt", data)
	before := startLines(t, path, 1, nil)
	before.subs[0].pollTimes(100)
	snaps := before.snapshot(1)
	before.commitAll(1)
	after := startLines(t, path, 1, func(int) map[string][]*OperatorState { return restoreParts(t, snaps, 0, 1, "lines") })
	after.finish()
	got := append(before.col.Values(), after.col.Values()...)
	if want := expectedSplits(data, 1)[0]; !slices.Equal(got, want) {
		t.Fatalf("got %d lines, want the file's %d in order", len(got), len(want))
	}
}

// A restore at an unchanged parallelism leaves every split with the
// subtask that held it: after 4 → 2 subtask 0 reads splits 0 and 2,
// subtask 1 splits 1 and 3, and again after a restore at 2.
func TestReadLines_restore_sameParallelismKeepsSplits(t *testing.T) {
	data := manyLines(4000)
	path := writeFile(t, "in.txt", data)
	four := startLines(t, path, 4, nil)
	snaps4 := four.snapshot(1)
	two := startLines(t, path, 2, func(i int) map[string][]*OperatorState { return restoreParts(t, snaps4, i, 2, "lines") })
	snaps2 := two.snapshot(2)
	again := startLines(t, path, 2, func(i int) map[string][]*OperatorState { return restoreParts(t, snaps2, i, 2, "lines") })
	again.finish()
	splits := expectedSplits(data, 4)
	for i, part := range again.col.BySubtask() {
		var got []string
		for _, e := range part {
			got = append(got, e.Value)
		}
		if want := append(slices.Clone(splits[i]), splits[i+2]...); !slices.Equal(got, want) {
			t.Errorf("subtask %d emitted %d lines, want the %d of splits %d and %d, in order", i, len(got), len(want), i, i+2)
		}
	}
}

// Line numbers in decode errors stay true after a restore.
func TestReadJSONLines_restore_lineNumbers(t *testing.T) {
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "%d\n", i)
	}
	b.WriteString("oops\n")
	path := writeFile(t, "in.jsonl", b.String())
	p := NewPipeline("t")
	Collect(ReadJSONLines[int](p, path).Name("nums"))
	v := onlyVertex(t, p)
	s, err := openStateful(t, v, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.pollTimes(90)
	snap := s.snapshot(1)
	r, err := openStateful(t, v, 0, restoreParts(t, []encodedState{snap}, 0, 1, "nums"))
	if err != nil {
		t.Fatal(err)
	}
	err = r.run()
	if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "line 3001") {
		t.Fatalf("run after restore: %v, want a decode error at line 3001", err)
	}
}

func TestReadLines_restore_fileChanged(t *testing.T) {
	path := writeFile(t, "in.txt", manyLines(100))
	before := startLines(t, path, 1, nil)
	snaps := before.snapshot(1)
	if err := os.WriteFile(path, []byte(manyLines(101)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := NewPipeline("t")
	Collect(ReadLines(p, path).Name("lines"))
	_, err := openStateful(t, onlyVertex(t, p), 0, restoreParts(t, snaps, 0, 1, "lines"))
	if !errors.Is(err, ErrRestore) || !strings.Contains(err.Error(), path) {
		t.Fatalf("restore: %v, want ErrRestore naming %s", err, path)
	}
}
