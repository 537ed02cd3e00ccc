package testkit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// CommittedLines reads what an operators.WriteFiles sink committed into
// dir: the lines of its committed part files, file by file in the order
// of operators.CommittedParts (by subtask, each subtask's in the order it
// wrote them). others names every other entry of dir, such as part files
// still in progress or pending a commit: an exactly-once job that
// finished leaves none. The test fails if dir or a file cannot be read.
func CommittedLines(t testing.TB, dir string) (lines, others []string) {
	t.Helper()
	parts, err := operators.CommittedParts(dir)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	for _, e := range entries {
		if !slices.Contains(parts, filepath.Join(dir, e.Name())) {
			others = append(others, e.Name())
		}
	}
	for _, p := range parts {
		lines = append(lines, readLines(t, p)...)
	}
	return lines, others
}

// ReadCommitted reads what an operators.WriteFiles sink committed into
// dir, each line decoded as JSON into a T, in the order of
// CommittedLines; others names the other entries of dir (see
// CommittedLines). The test fails at a line that does not decode, naming
// it.
func ReadCommitted[T any](t testing.TB, dir string) (values []T, others []string) {
	t.Helper()
	lines, others := CommittedLines(t, dir)
	values = make([]T, 0, len(lines))
	for i, l := range lines {
		var v T
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("testkit: committed line %d of %s, %q: %v", i+1, dir, l, err)
		}
		values = append(values, v)
	}
	return values, others
}

// FileListing describes every entry of dir, one line each: name, size
// and modification time. Two equal listings mean that nothing in dir was
// added, removed or rewritten in between, as a test of a resumed sink
// that must not touch committed output checks.
func FileListing(t testing.TB, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	var b strings.Builder
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatalf("testkit: %v", err)
		}
		fmt.Fprintf(&b, "%s %d %d\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20) // records of up to 16 MiB
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("testkit: read %s: %v", path, err)
	}
	return lines
}
