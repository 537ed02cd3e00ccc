package operators

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

// Each subtask opens a function of its own, with its own TaskContext,
// and the records are those of seq alone: the same set as Generate's at
// any parallelism.
func TestGenerateWith_aFunctionPerSubtask(t *testing.T) {
	for _, n := range []int{1, 3} {
		var mu sync.Mutex
		opened := map[int]int{}
		p := NewPipeline("t").SetParallelism(n)
		col := Collect(GenerateWith(p, 10, func(tc *TaskContext) func(int64) [2]int64 {
			mu.Lock()
			opened[tc.Subtask]++
			mu.Unlock()
			calls := int64(0) // the function's own state: no lock
			return func(seq int64) [2]int64 { calls++; return [2]int64{seq, calls} }
		}))
		if err := errors.Join(runSubtasks(t, p)...); err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for i, part := range bySubtask(col, n) {
			if opened[i] != 1 {
				t.Errorf("p%d: subtask %d opened %d times, want 1", n, i, opened[i])
			}
			for k, v := range part {
				if v[1] != int64(k+1) || v[0] != int64(i+k*n) {
					t.Errorf("p%d: subtask %d record %d = %v, want seq %d from its own function's call %d", n, i, k, v, i+k*n, k+1)
				}
				seqs = append(seqs, v[0])
			}
		}
		slices.Sort(seqs)
		if !slices.Equal(seqs, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Errorf("p%d: sequence numbers %v, want 0…9 once each", n, seqs)
		}
	}
}

// A nil open fails the build; an open that returns nil fails the subtask
// that opened it, naming the generator.
func TestGenerateWith_nilFunctions(t *testing.T) {
	p := NewPipeline("t")
	Discard(GenerateWith[int64](p, 3, nil))
	if _, err := p.Build(); !errors.Is(err, ErrNilFunc) {
		t.Errorf("nil open: Build %v, want ErrNilFunc", err)
	}
	p = NewPipeline("t")
	Discard(GenerateWith(p, 3, func(*TaskContext) func(int64) int64 { return nil }))
	if err := errors.Join(runSubtasks(t, p)...); !errors.Is(err, ErrNilFunc) {
		t.Errorf("open returning nil: %v, want ErrNilFunc", err)
	}
}
