package testkit

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

// What a checkpointed file sink committed reads back whole and in each
// subtask's order; a file left hidden is reported among the others.
func TestReadCommitted_readsWhatWriteFilesCommitted(t *testing.T) {
	const n = 3000
	dir := t.TempDir()
	p := operators.NewPipeline("parts").SetParallelism(2)
	src := operators.Generate(p, n, func(i int64) int64 { return i }, operators.RateLimit(20000)).Name("gen")
	operators.WriteFiles(src, dir).Name("sink")
	r := NewRunner(t, WithCheckpoints(5*time.Millisecond))
	if res := r.Run(p); res.State != actors.JobFinished {
		t.Fatalf("%v", res)
	}
	if err := os.WriteFile(filepath.Join(dir, ".part-9-1-1-1-0000.pending"), []byte("9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, others := ReadCommitted[int64](t, dir)
	parts, _ := operators.CommittedParts(dir)
	if len(parts) < 3 {
		t.Fatalf("%d part files: want several epochs' files", len(parts))
	}
	// Generate deals i to subtask i mod 2: each subtask's files in order
	// hold its numbers ascending.
	var even, odd []int64
	for _, v := range got {
		if v%2 == 0 {
			even = append(even, v)
		} else {
			odd = append(odd, v)
		}
	}
	if len(got) != n || !slices.IsSorted(even) || !slices.IsSorted(odd) {
		t.Fatalf("read %d values (even sorted %v, odd sorted %v), want %d in each subtask's order",
			len(got), slices.IsSorted(even), slices.IsSorted(odd), n)
	}
	if !slices.Equal(others, []string{".part-9-1-1-1-0000.pending"}) {
		t.Fatalf("others %q, want the hidden file", others)
	}
}

func TestReadCommitted_badLineFailsNamingIt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "part-0-1-1-1.jsonl"), []byte("1\nx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	msg := failure(t, func(tb testing.TB) { ReadCommitted[int](tb, dir) })
	wantContains(t, msg, "committed line 2", `"x"`)
}

func TestFileListing_seesAddedAndRewrittenFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a")
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := FileListing(t, dir)
	if again := FileListing(t, dir); again != before {
		t.Fatalf("two listings of an unchanged dir differ:\n%s\n%s", again, before)
	}
	if err := os.WriteFile(path, []byte("22"), 0o644); err != nil {
		t.Fatal(err)
	}
	rewritten := FileListing(t, dir)
	if rewritten == before {
		t.Fatal("a rewritten file does not change the listing")
	}
	if err := os.WriteFile(filepath.Join(dir, ".b"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if FileListing(t, dir) == rewritten {
		t.Fatal("an added hidden file does not change the listing")
	}
}
