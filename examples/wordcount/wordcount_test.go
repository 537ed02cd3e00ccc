package wordcount

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/troupe-dev/troupe/actors"
)

func TestWords(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"Go, go! Ünïcode 42x", []string{"go", "go", "ünïcode", "42x"}},
		{"don't stop", []string{"don", "t", "stop"}},
		{"well-known\tTAB", []string{"well", "known", "tab"}},
		{"Straße café 日本語", []string{"straße", "café", "日本語"}},
		{"", nil},
		{" ,.;- ", nil},
		{"x86", []string{"x86"}},
		{"bad\xffutf8", []string{"bad", "utf8"}},
	}
	for _, tt := range tests {
		if got := Words(tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("Words(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// Every word is non-empty, lowercase and made of letters and digits only,
// and there are as many as strings.FieldsFunc finds.
func FuzzWords(f *testing.F) {
	for _, s := range []string{"Go, go! Ünïcode 42x", "don't", "", "\xff\xfe", "İstanbul ΣΑΣ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words := Words(line)
		sep := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
		if n := len(strings.FieldsFunc(line, sep)); n != len(words) {
			t.Fatalf("Words(%q) has %d words, FieldsFunc %d", line, len(words), n)
		}
		for _, w := range words {
			if w == "" || strings.IndexFunc(w, sep) >= 0 || strings.ToLower(w) != w {
				t.Fatalf("Words(%q) gave %q", line, w)
			}
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the sink's writes and the test's
// reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const sample = "testdata/sample.txt"

func run(t *testing.T, cfg Config, parallelism int) {
	t.Helper()
	ecfg := actors.DefaultConfig()
	ecfg.Logger = actors.QuietLogger()
	e, err := actors.NewEngine(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run(ctx, p.SetParallelism(parallelism)); err != nil {
		t.Fatal(err)
	}
}

func TestNew_stdout(t *testing.T) {
	for _, par := range []int{1, 3} {
		var out syncBuffer
		run(t, Config{Input: sample, Stdout: &out}, par)
		checkCounts(t, strings.NewReader(out.String()), totals(t, sample))
	}
}

func TestNew_files(t *testing.T) {
	dir := t.TempDir()
	run(t, Config{Input: sample, Output: dir}, 2)
	parts, err := filepath.Glob(filepath.Join(dir, "part-*.jsonl"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("no part files in %s (%v)", dir, err)
	}
	var all []byte
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	checkCounts(t, bytes.NewReader(all), totals(t, sample))
}

func TestSpec_badRate(t *testing.T) {
	reg := actors.NewRegistry()
	reg.MustRegister(Spec())
	for _, rate := range []string{"-1", "fast"} {
		_, err := reg.Build(Name, map[string]string{"input": sample, "rate": rate}, 0)
		if !errors.Is(err, actors.ErrBadParam) || !strings.Contains(err.Error(), `rate="`+rate+`"`) {
			t.Errorf("rate %s: error %v, want ErrBadParam naming it", rate, err)
		}
	}
	if _, err := reg.Build(Name, map[string]string{"input": sample, "rate": "0.5"}, 0); err != nil {
		t.Errorf("rate 0.5: %v", err)
	}
}

// totals counts the words of a file sequentially: the reference.
func totals(t testing.TB, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Totals(string(b))
}

// checkCounts checks that every word's counts are exactly 1..want[word].
func checkCounts(t testing.TB, r io.Reader, want map[string]int) {
	t.Helper()
	if err := Verify(r, want); err != nil {
		t.Fatal(err)
	}
}
