package operators

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheckOutputDir_usable(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{root, filepath.Join(root, "new"), filepath.Join(root, "a", "b", "c")} {
		if err := CheckOutputDir(dir); err != nil {
			t.Errorf("%s: %v, want nil", dir, err)
		}
	}
	// Nothing is created or left behind: no directory, no test file.
	if entries, err := os.ReadDir(root); err != nil || len(entries) != 0 {
		t.Fatalf("after the checks %s holds %v (%v), want nothing", root, entries, err)
	}
}

func TestCheckOutputDir_unusable(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "out.jsonl")
	if err := os.WriteFile(file, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir  string
		want string
	}{
		{"", "empty path"},
		{file, "is a file, not a directory"},
		{filepath.Join(file, "sub"), file + " is a file, not a directory"},
		{filepath.Join(file, "a", "b"), file + " is a file, not a directory"},
	}
	if os.Geteuid() != 0 { // root may write anywhere
		locked := filepath.Join(root, "locked")
		if err := os.Mkdir(locked, 0o555); err != nil {
			t.Fatal(err)
		}
		tests = append(tests,
			struct{ dir, want string }{locked, "cannot create files in it"},
			struct{ dir, want string }{filepath.Join(locked, "new"), "cannot create it in " + locked})
	}
	for _, tt := range tests {
		err := CheckOutputDir(tt.dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "output dir "+tt.dir) && tt.dir != "" {
			t.Errorf("%q: %v, want an error naming it and saying %q", tt.dir, err, tt.want)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "x\n" {
		t.Errorf("the file was changed: %q, %v", b, err)
	}
}

// CommittedParts lists visible part files only, by subtask (numerically),
// then by writer (time, attempt), then by epoch; with or without the
// sink's id (a run id may hold '-' and '.').
func TestCommittedParts_order(t *testing.T) {
	dir := t.TempDir()
	names := []string{
		"part-10-1700000000000000000-1-0000000a.jsonl",
		"part-2-1700000000000000005-2-0000000b-0000.jsonl",
		"part-2-1700000000000000001-1-0000000c-0010.jsonl",
		"part-2-1700000000000000001-1-0000000c-0002.jsonl",
		"part-2-1700000000000000001-1-0000000c-9999.jsonl",
		"part-0-1700000000000000009-3-0000000d.jsonl",
		"part-0-1700000000000000007-1-0000000e-0003.my-run.2.11d259d2.jsonl",
		"part-0-1700000000000000007-1-0000000e.11d259d2.jsonl",
		".part-0-1700000000000000009-3-0000000d-0001.pending",
		".part-0-1700000000000000009-3-0000000d-0002.inprogress",
		".part-0-1700000000000000009-3-0000000d-0003.run.11d259d2.pending",
		"part-x-1-1-1.jsonl", "notes.txt", "part-1-2-3.jsonl", "part-0-1-1-1..jsonl",
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "part-3-1-1-1.jsonl"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := CommittedParts(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i] = filepath.Base(got[i])
	}
	want := []string{
		"part-0-1700000000000000007-1-0000000e.11d259d2.jsonl",
		"part-0-1700000000000000007-1-0000000e-0003.my-run.2.11d259d2.jsonl",
		"part-0-1700000000000000009-3-0000000d.jsonl",
		"part-2-1700000000000000001-1-0000000c-0002.jsonl",
		"part-2-1700000000000000001-1-0000000c-0010.jsonl",
		"part-2-1700000000000000001-1-0000000c-9999.jsonl",
		"part-2-1700000000000000005-2-0000000b-0000.jsonl",
		"part-10-1700000000000000000-1-0000000a.jsonl",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := CommittedParts(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing dir: %v, want an error naming it", err)
	}
}

// The names WriteFiles gives parse, with and without checkpoints, and a
// job's records read back in order through CommittedParts.
func TestCommittedParts_readsWhatWriteFilesCommitted(t *testing.T) {
	dir := t.TempDir()
	s, err := openStateful(t, txnPipeline(t, 8, 1, dir), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 3; id++ {
		s.emit(2)
		s.snapshot(id)
		s.notify(id)
	}
	s.emit(2)
	if err := s.chain.EndInput(); err != nil {
		t.Fatal(err)
	}
	s.notify(EndOfJob)
	paths, err := CommittedParts(dir)
	if err != nil {
		t.Fatal(err)
	}
	var vals []int
	for _, p := range paths {
		vals = append(vals, readPart(t, p)...)
	}
	if !slices.Equal(vals, []int{0, 1, 2, 3, 4, 5, 6, 7}) || len(paths) != 4 {
		t.Fatalf("read %v from %d files, want 0..7 in order from 4", vals, len(paths))
	}
}
