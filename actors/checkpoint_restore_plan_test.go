package actors

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// restoreGraph is a one-vertex job at parallelism par whose source is
// named "src".
func restoreGraph(t *testing.T, par int) (*operators.JobGraph, *operators.Vertex) {
	t.Helper()
	p := operators.NewPipeline("restore").SetParallelism(par)
	operators.Discard(operators.FromSlice(p, []int{1}).Name("src"))
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	return g, g.Vertices[0]
}

// writeStates stores checkpoint 1 of g's vertex v in a DirStore, with
// states[i] as old subtask i's "src" state (nil: no state), at the
// parallelism len(states); with summaries the metadata says what each
// state holds, as a running job writes it, else it is metadata from
// before summaries. It returns the checkpoint opened.
func writeStates(t *testing.T, g *operators.JobGraph, v *operators.Vertex, summaries bool, states ...*operators.OperatorState) *persistence.Checkpoint {
	t.Helper()
	store, err := persistence.OpenDirStore(t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	meta := &persistence.Metadata{ID: 1, Job: g.Name, MaxParallelism: g.MaxParallelism}
	for i, os := range states {
		ts := persistence.TaskState{Vertex: v.Name, Operators: v.Operators(), Subtask: i, Parallelism: len(states)}
		if os != nil {
			st := operators.SubtaskState{"src": os}
			data, err := st.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if ts.Handle, err = store.WriteState(1, fmt.Sprintf("task-%d", i), data); err != nil {
				t.Fatal(err)
			}
			if summaries {
				ts.States = st.Summary()
			}
		}
		meta.Tasks = append(meta.Tasks, ts)
	}
	path, err := store.CommitMetadata(meta)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func listState(entries ...string) *operators.OperatorState {
	var list [][]byte
	for _, e := range entries {
		list = append(list, []byte(e))
	}
	return &operators.OperatorState{Operator: &persistence.OperatorSnapshot{Lists: map[string][][]byte{"pos": list}}}
}

// readParts plans the restore of cp for subtask i of v and reads its
// "src" parts, as the subtask does when it deploys.
func readParts(t *testing.T, cp *persistence.Checkpoint, g *operators.JobGraph, v *operators.Vertex, i int) ([]*operators.OperatorState, error) {
	t.Helper()
	plan, err := planFrom(cp, g)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := plan.taskOf(v, i).read()
	return parts["src"], err
}

// At an unchanged parallelism each subtask gets back its own operator
// list, also when a subtask before it stored no state; with metadata
// from before summaries too.
func TestPlanFrom_operatorListsStayInPlace(t *testing.T) {
	for _, summaries := range []bool{true, false} {
		t.Run(fmt.Sprintf("summaries=%v", summaries), func(t *testing.T) {
			g, v := restoreGraph(t, 3)
			cp := writeStates(t, g, v, summaries, listState("a1", "a2"), nil, listState("c1", "c2", "c3"))
			want := [][]string{{"a1", "a2"}, {}, {"c1", "c2", "c3"}}
			for i := range 3 {
				parts, err := readParts(t, cp, g, v, i)
				if err != nil {
					t.Fatal(err)
				}
				if len(parts) != 1 || parts[0].Operator == nil {
					t.Fatalf("subtask %d got parts %v, want one operator snapshot", i, parts)
				}
				got := []string{}
				for _, e := range parts[0].Operator.Lists["pos"] {
					got = append(got, string(e))
				}
				if !reflect.DeepEqual(got, want[i]) {
					t.Errorf("subtask %d got list %q, want its own %q", i, got, want[i])
				}
			}
		})
	}
}

// Subtasks of one operator stored at two parallelisms make the checkpoint
// unreadable: where lists go depends on the old parallelism.
func TestPlanFrom_inconsistentParallelism(t *testing.T) {
	g, v := restoreGraph(t, 3)
	cp := writeStates(t, g, v, true, listState("a"), listState("b"), nil)
	cp.Meta.Tasks[1].Parallelism = 2
	_, err := planFrom(cp, g)
	if err == nil || !strings.Contains(err.Error(), `operator "src"`) || !strings.Contains(err.Error(), "parallelism 3 and 2") {
		t.Fatalf("got %v, want an error naming the operator and both parallelisms", err)
	}
}

// keyedAndListState is old subtask j's state at parallelism par: keyed
// state in each key group it owns, a list entry, and a union entry.
func keyedAndListState(t *testing.T, g *operators.JobGraph, j, par int) *operators.OperatorState {
	t.Helper()
	start, end := operators.KeyGroupRange(j, par, g.MaxParallelism)
	ks := valueSnapshot(t, g.MaxParallelism, int64(start), int64(end), func(k int64) string { return fmt.Sprintf("%d@%d", k, j) })
	return &operators.OperatorState{Keyed: ks, Operator: &persistence.OperatorSnapshot{
		Lists: map[string][][]byte{"pos": {[]byte(fmt.Sprintf("pos-%d", j))}},
		Union: map[string][][]byte{"all": {[]byte(fmt.Sprintf("all-%d", j))}},
	}}
}

// A subtask reads only the state files it takes something of: with
// union lists every file holding some, else, at an unchanged parallelism,
// its own file only — the others may be gone.
func TestTaskRestore_readsOnlyTheFilesItTakes(t *testing.T) {
	g, v := restoreGraph(t, 3)
	states := make([]*operators.OperatorState, 3)
	for j := range states {
		states[j] = keyedAndListState(t, g, j, 3)
		states[j].Operator.Union = nil // no union lists: nothing to take from others
	}
	cp := writeStates(t, g, v, true, states...)
	for _, task := range cp.Meta.Tasks[1:] {
		if err := os.Remove(filepath.Join(cp.Path, task.Handle)); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := readParts(t, cp, g, v, 0)
	if err != nil {
		t.Fatalf("subtask 0, whose own file is there: %v", err)
	}
	if len(parts) != 2 || !reflect.DeepEqual(parts[0].Keyed, states[0].Keyed) {
		t.Fatalf("subtask 0 got %d parts, want its own keyed state and its list", len(parts))
	}
	missing := filepath.Join(cp.Path, cp.Meta.Tasks[1].Handle)
	if _, err := readParts(t, cp, g, v, 1); !errors.Is(err, ErrRestore) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("subtask 1, whose file is gone: %v; want ErrRestore naming %s", err, missing)
	}
}

// With summaries a subtask reads only what it needs, and restores the
// same as from metadata without them (every file read, every old keyed
// snapshot given): the same lists and union lists, the same state in its
// own key groups, and no keyed snapshot of key groups it does not own.
func TestTaskRestore_summariesRestoreTheSame(t *testing.T) {
	for _, tc := range []struct{ from, to int }{{3, 3}, {3, 2}, {2, 5}, {4, 1}} {
		t.Run(fmt.Sprintf("%dto%d", tc.from, tc.to), func(t *testing.T) {
			gOld, vOld := restoreGraph(t, tc.from)
			states := make([]*operators.OperatorState, tc.from)
			for j := range states {
				states[j] = keyedAndListState(t, gOld, j, tc.from)
			}
			with := writeStates(t, gOld, vOld, true, states...)
			without := writeStates(t, gOld, vOld, false, states...)
			g, v := restoreGraph(t, tc.to)
			for i := range tc.to {
				got, err := readParts(t, with, g, v, i)
				if err != nil {
					t.Fatal(err)
				}
				want, err := readParts(t, without, g, v, i)
				if err != nil {
					t.Fatal(err)
				}
				start, end := operators.KeyGroupRange(i, tc.to, g.MaxParallelism)
				for _, p := range got {
					if p.Keyed != nil && !overlaps(p.Keyed, start, end) {
						t.Errorf("subtask %d got a keyed snapshot of none of its key groups [%d, %d)", i, start, end)
					}
				}
				if a, b := ownGroups(got, start, end), ownGroups(want, start, end); !reflect.DeepEqual(a, b) {
					t.Errorf("subtask %d: own key groups %v with summaries, %v without", i, a, b)
				}
				if a, b := operatorPart(got), operatorPart(want); !reflect.DeepEqual(a, b) {
					t.Errorf("subtask %d: operator state %+v with summaries, %+v without", i, a, b)
				}
			}
		})
	}
}

// valueSnapshot returns a heap backend's snapshot of one value state "v"
// holding value(k) for each key k in [from, to); key k is in key group k
// mod maxPar.
func valueSnapshot(t *testing.T, maxPar int, from, to int64, value func(int64) string) *persistence.KeyedSnapshot {
	t.Helper()
	b, err := persistence.NewHeapBackend(persistence.BackendConfig[int64]{MaxParallelism: maxPar,
		KeyGroupOf: func(k int64) int { return int(k) % maxPar }, KeyCodec: operators.JSONCodec[int64]{}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := persistence.Value(b, persistence.ValueDescriptor[string]{Name: "v", Codec: operators.JSONCodec[string]{}})
	if err != nil {
		t.Fatal(err)
	}
	for k := from; k < to; k++ {
		b.SetCurrentKey(k)
		st.Update(value(k))
	}
	ks, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func overlaps(ks *persistence.KeyedSnapshot, start, end int) bool {
	for kg := range ks.Groups {
		if kg >= start && kg < end {
			return true
		}
	}
	return false
}

// ownGroups collects the keyed entries of key groups [start, end).
func ownGroups(parts []*operators.OperatorState, start, end int) map[int]string {
	out := map[int]string{}
	for _, p := range parts {
		if p.Keyed == nil {
			continue
		}
		for kg, b := range p.Keyed.Groups {
			if kg >= start && kg < end {
				out[kg] = string(b)
			}
		}
	}
	return out
}

func operatorPart(parts []*operators.OperatorState) *persistence.OperatorSnapshot {
	for _, p := range parts {
		if p.Operator != nil {
			return p.Operator
		}
	}
	return nil
}

// Across nodes, an ack's state summaries and a subtask's restore failure
// arrive as they left: the master plans from the summaries, and fails
// (rather than restarts) a job whose subtask could not read its state.
func TestReports_statesAndRestoreFailureCrossTheWire(t *testing.T) {
	states := map[string]persistence.StateSummary{
		"count": {Keyed: true},
		"sink":  {Operator: true, Lists: []string{"a", "b"}, Union: []string{"pending"}},
	}
	if got := statesFrom(wireStates(states)); !reflect.DeepEqual(got, states) {
		t.Fatalf("state summaries came across as %+v, want %+v", got, states)
	}
	f := &wire.SubtaskFailed{Error: "restore of v subtask 0: actors: cannot restore checkpoint: chk-3/1-0.state: truncated",
		Restore: errors.Is(fmt.Errorf("restore: %w", ErrRestore), ErrRestore)}
	if err := failureFrom(f, nil); !errors.Is(err, ErrRestore) || err.Error() != f.Error {
		t.Fatalf("a remote restore failure came across as %v, want ErrRestore with its text", err)
	}
	if err := failureFrom(&wire.SubtaskFailed{Error: "boom"}, nil); errors.Is(err, ErrRestore) {
		t.Fatalf("a remote failure came across as a restore failure: %v", err)
	}
}

// A running job's checkpoints say what each subtask's state holds, so
// that its restores plan from the metadata alone.
func TestCheckpoint_metadataSummarisesStates(t *testing.T) {
	g, store := gatedDirStore(t)
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Checkpoint.Store = store
		c.BatchSize = 64
	})
	p, _ := countPipeline(-1, 61, 5000)
	j := submit(t, e, p)
	eventually(t, 20*time.Second, func() bool { _, ok := j.LatestCheckpoint(); return ok }, "a complete checkpoint")
	c, _ := j.LatestCheckpoint()
	j.Cancel()
	cp, err := g.Open(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	keyed := 0
	for _, task := range cp.Meta.Tasks {
		if task.Handle == "" {
			continue
		}
		if task.States == nil {
			t.Fatalf("%s#%d stored state %s but the metadata does not say what it holds", task.Vertex, task.Subtask, task.Handle)
		}
		if task.States["count"].Keyed {
			keyed++
		}
	}
	if keyed != 4 {
		t.Fatalf("%d subtasks' metadata say the keyed count has keyed state, want its 4", keyed)
	}
}
