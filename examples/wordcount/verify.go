package wordcount

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Totals counts the words of a text sequentially: the reference the
// pipeline's output is checked against.
func Totals(text string) map[string]int {
	want := make(map[string]int)
	for _, w := range Words(text) {
		want[w]++
	}
	return want
}

// Verify reads wordcount output (JSON lines of Count, in any order) and
// checks that every word's counts are exactly 1..want[word], each once —
// the exactly-once property of a correct run. It reports every problem.
func Verify(r io.Reader, want map[string]int) error {
	seen := make(map[string]map[int]bool)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var c Count
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return fmt.Errorf("wordcount: line %q: %w", sc.Text(), err)
		}
		if seen[c.Word] == nil {
			seen[c.Word] = make(map[int]bool)
		}
		if seen[c.Word][c.Count] || c.Count < 1 || c.Count > want[c.Word] {
			return fmt.Errorf("wordcount: unexpected %+v (total %d, seen before: %v)", c, want[c.Word], seen[c.Word][c.Count])
		}
		seen[c.Word][c.Count] = true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("wordcount: read output: %w", err)
	}
	var errs []error
	for w, n := range want {
		if len(seen[w]) != n {
			errs = append(errs, fmt.Errorf("word %q: %d counts, want %d", w, len(seen[w]), n))
		}
	}
	if len(seen) != len(want) {
		errs = append(errs, fmt.Errorf("%d distinct words, want %d", len(seen), len(want)))
	}
	return errors.Join(errs...)
}
