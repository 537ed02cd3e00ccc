package operators

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// A panic in a file source's parser, on the fetcher goroutine, fails the
// subtask after the lines before it, with an error that wraps
// ErrSourcePanic and names the operator, the file and the line (by number
// when the source counts lines, else by byte offset).
func TestFileFetcher_parserPanic(t *testing.T) {
	data := "a\nbb\nboom\nc\n"
	path := writeFile(t, "in.txt", data)
	parse := func(line []byte, _ int) (string, bool, error) {
		if string(line) == "boom" {
			panic("parser: boom")
		}
		return string(line), true, nil
	}
	for _, numbered := range []bool{false, true} {
		t.Run(fmt.Sprintf("numbered %v", numbered), func(t *testing.T) {
			p := NewPipeline("t")
			src := FromReader(p, "lines", func(tc *TaskContext) (Reader[string], error) {
				return openFileReader(tc, fileSpec[string]{path: path, parse: parse, numbered: numbered})
			}).Name("src")
			col := Collect(src)
			err := runSubtasks(t, p)[0]
			want := path + " line at byte 5:"
			if numbered {
				want = path + " line 3:"
			}
			if !errors.Is(err, ErrSourcePanic) || !strings.Contains(err.Error(), `operator "src"`) ||
				!strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "parser: boom") {
				t.Fatalf("err %v, want ErrSourcePanic naming operator src and %q", err, want)
			}
			if got := col.Values(); !slices.Equal(got, []string{"a", "bb"}) {
				t.Fatalf("emitted %q, want the lines before the panic", got)
			}
		})
	}
}
