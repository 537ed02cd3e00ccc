package actors

import (
	"reflect"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// restoreGraph is a one-vertex job at parallelism 3 whose source is
// named "src".
func restoreGraph(t *testing.T) (*operators.JobGraph, *operators.Vertex) {
	t.Helper()
	p := operators.NewPipeline("restore").SetParallelism(3)
	operators.Discard(operators.FromSlice(p, []int{1}).Name("src"))
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	return g, g.Vertices[0]
}

// storedCheckpoint stores checkpoint 1 of g's vertex v with the given
// subtasks' "src" lists (nil: no state) and returns it opened.
func storedCheckpoint(t *testing.T, g *operators.JobGraph, v *operators.Vertex, par int, lists ...[]string) *persistence.Checkpoint {
	t.Helper()
	store := persistence.NewMemStore("plan-test", 1)
	meta := &persistence.Metadata{ID: 1, Job: g.Name, MaxParallelism: g.MaxParallelism}
	for i := range par {
		ts := persistence.TaskState{Vertex: v.Name, Operators: v.Operators(), Subtask: i, Parallelism: par}
		if i < len(lists) && lists[i] != nil {
			var entries [][]byte
			for _, e := range lists[i] {
				entries = append(entries, []byte(e))
			}
			st := operators.SubtaskState{"src": {Operator: &persistence.OperatorSnapshot{Lists: map[string][][]byte{"pos": entries}}}}
			data, err := st.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if ts.Handle, err = store.WriteState(1, string(taskID(v, i)), data); err != nil {
				t.Fatal(err)
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

// At an unchanged parallelism each subtask gets back its own operator
// list, also when a subtask before it stored no state.
func TestPlanFrom_operatorListsStayInPlace(t *testing.T) {
	g, v := restoreGraph(t)
	cp := storedCheckpoint(t, g, v, 3, []string{"a1", "a2"}, nil, []string{"c1", "c2", "c3"})
	plan, err := planFrom(cp, g)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a1", "a2"}, {}, {"c1", "c2", "c3"}}
	for i := range 3 {
		parts := plan.parts[taskID(v, i)]["src"]
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
}

// Subtasks of one operator stored at two parallelisms make the checkpoint
// unreadable: where lists go depends on the old parallelism.
func TestPlanFrom_inconsistentParallelism(t *testing.T) {
	g, v := restoreGraph(t)
	cp := storedCheckpoint(t, g, v, 3, []string{"a"}, []string{"b"})
	cp.Meta.Tasks[1].Parallelism = 2
	_, err := planFrom(cp, g)
	if err == nil || !strings.Contains(err.Error(), `operator "src"`) || !strings.Contains(err.Error(), "parallelism 3 and 2") {
		t.Fatalf("got %v, want an error naming the operator and both parallelisms", err)
	}
}
