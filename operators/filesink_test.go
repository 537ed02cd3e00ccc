package operators

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// partFiles lists dir: visible part files by subtask, and every other name.
func partFiles(t testing.TB, dir string) (parts map[int][]string, others []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	parts = make(map[int][]string)
	for _, e := range entries {
		var sub int
		_, err := fmt.Sscanf(e.Name(), "part-%d-", &sub)
		if err != nil || !strings.HasSuffix(e.Name(), ".jsonl") {
			others = append(others, e.Name())
			continue
		}
		parts[sub] = append(parts[sub], filepath.Join(dir, e.Name()))
	}
	return parts, others
}

func readPart(t testing.TB, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vals []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v int
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: line %q: %v", path, sc.Text(), err)
		}
		vals = append(vals, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vals
}

// slicePipeline writes 0..count-1 with parallelism par into dir; FromSlice
// gives subtask i the values i, i+par, …
func slicePipeline(count, par int, dir string) *Pipeline {
	p := NewPipeline("t").SetParallelism(par)
	vals := make([]int, count)
	for i := range vals {
		vals[i] = i
	}
	WriteFiles(FromSlice(p, vals), dir)
	return p
}

func strided(count, par, i int) []int {
	var out []int
	for v := i; v < count; v += par {
		out = append(out, v)
	}
	return out
}

func TestWriteFiles_commitsOnEndInput(t *testing.T) {
	cases := []struct{ count, par int }{{0, 1}, {1, 1}, {100, 1}, {100, 3}, {2, 3}, {5000, 2}}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d records p%d", c.count, c.par), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out", "nested") // created by the sink
			p := slicePipeline(c.count, c.par, dir)
			if err := errors.Join(runSubtasks(t, p)...); err != nil {
				t.Fatal(err)
			}
			parts, others := partFiles(t, dir)
			if len(others) > 0 {
				t.Fatalf("dir holds %q besides part files", others)
			}
			for i := range c.par {
				want := strided(c.count, c.par, i)
				if len(want) == 0 {
					if len(parts[i]) != 0 {
						t.Errorf("subtask %d had no records but wrote %q", i, parts[i])
					}
					continue
				}
				if len(parts[i]) != 1 {
					t.Fatalf("subtask %d: %d part files %q, want 1", i, len(parts[i]), parts[i])
				}
				if got := readPart(t, parts[i][0]); !slices.Equal(got, want) {
					t.Errorf("subtask %d: part holds %d values, want %d", i, len(got), len(want))
				}
			}
		})
	}
}

// TestWriteFiles_Close_discards checks that a subtask closed without end
// of input (a failed or cancelled job) leaves nothing behind, at any point.
func TestWriteFiles_Close_discards(t *testing.T) {
	for _, polls := range []int{0, 1, 10} {
		t.Run(fmt.Sprintf("after %d polls", polls), func(t *testing.T) {
			dir := t.TempDir()
			p := slicePipeline(1000, 2, dir)
			v := onlyVertex(t, p)
			var subtasks []*testSubtask
			for i := range v.Parallelism {
				s, err := openTestSubtask(t, v, i, nil)
				if err != nil {
					t.Fatal(err)
				}
				for range polls {
					if _, err := s.poll(); err != nil {
						t.Fatal(err)
					}
				}
				subtasks = append(subtasks, s)
			}
			if _, others := partFiles(t, dir); polls > 0 && len(others) != v.Parallelism {
				t.Fatalf("while writing, dir holds %q, want one in-progress file per subtask", others)
			}
			for _, s := range subtasks {
				if err := s.chain.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("after Close without EndInput, dir holds %v", entries)
			}
		})
	}
}

func TestWriteFiles_inProgressIsHidden(t *testing.T) {
	dir := t.TempDir()
	s, err := openTestSubtask(t, onlyVertex(t, slicePipeline(100, 1, dir)), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.poll(); err != nil {
		t.Fatal(err)
	}
	parts, others := partFiles(t, dir)
	if len(parts) != 0 || len(others) != 1 || !strings.HasPrefix(others[0], ".part-0-") || !strings.HasSuffix(others[0], ".inprogress") {
		t.Fatalf("while writing: parts %v, others %q; want one .part-0-*.inprogress", parts, others)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, others[0])); !strings.HasPrefix(string(data), "0\n1\n") {
		t.Errorf("in-progress file holds %.20q, want the first batch after BatchEnd", data)
	}
}

// TestWriteFiles_uniqueNames runs the same job twice, and a restart
// attempt, into one dir with a frozen clock: no part file is overwritten.
func TestWriteFiles_uniqueNames(t *testing.T) {
	dir := t.TempDir()
	clock := newManualClock()
	for attempt := range 3 {
		v := onlyVertex(t, slicePipeline(10, 2, dir))
		for i := range v.Parallelism {
			c, err := v.Open(ChainConfig{Subtask: i, Attempt: attempt % 2, BatchSize: 16,
				Ship: &recordingShipper{}, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			s := &testSubtask{t: t, chain: c, wake: make(chan struct{}, 1)}
			if err := s.run(); err != nil {
				t.Fatal(err)
			}
		}
	}
	parts, others := partFiles(t, dir)
	if len(others) != 0 || len(parts[0]) != 3 || len(parts[1]) != 3 {
		t.Fatalf("parts %v, others %q; want 3 per subtask", parts, others)
	}
	for _, part := range parts[1] {
		if got := readPart(t, part); !slices.Equal(got, []int{1, 3, 5, 7, 9}) {
			t.Errorf("%s holds %v", part, got)
		}
	}
}

func TestWriteFiles_errors(t *testing.T) {
	t.Run("dir is a file", func(t *testing.T) {
		file := writeFile(t, "file", "x")
		_, err := openTestSubtask(t, onlyVertex(t, slicePipeline(1, 1, file)), 0, nil)
		var oe *OperatorError
		if !errors.As(err, &oe) || oe.Operator != "files-2" || !strings.Contains(err.Error(), file) {
			t.Fatalf("open: %v, want an error naming files-2 and %s", err, file)
		}
	})
	t.Run("record cannot be encoded", func(t *testing.T) {
		dir := t.TempDir()
		p := NewPipeline("t")
		WriteFiles(FromSlice(p, []float64{1, math.NaN()}), dir)
		errs := runSubtasks(t, p)
		if errs[0] == nil || !strings.Contains(errs[0].Error(), "JSON") {
			t.Fatalf("err = %v, want a JSON encoding error", errs[0])
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("after a failed write, dir holds %v", entries)
		}
	})
	t.Run("final name taken", func(t *testing.T) {
		dir := t.TempDir()
		clock := newManualClock()
		v := onlyVertex(t, slicePipeline(3, 1, dir))
		c, err := v.Open(ChainConfig{BatchSize: 16, Ship: &recordingShipper{}, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		w := c.hooks[1].(*partWriter[int])
		if err := os.WriteFile(w.final, []byte("theirs\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s := &testSubtask{t: t, chain: c, wake: make(chan struct{}, 1)}
		if err := s.run(); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Fatalf("run: %v, want an error saying the part file exists", err)
		}
		if data, _ := os.ReadFile(w.final); string(data) != "theirs\n" {
			t.Fatalf("existing part file overwritten: %q", data)
		}
		if _, others := partFiles(t, dir); len(others) != 0 {
			t.Fatalf("leftovers %q", others)
		}
	})
}
