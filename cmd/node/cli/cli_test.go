package cli

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/wordcount"
	"github.com/troupe-dev/troupe/operators"
)

// syncBuffer is a bytes.Buffer safe for a sink's writes and the test's
// reads; it closes first at the first write.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	once  sync.Once
	first chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{first: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.once.Do(func() { close(b.first) })
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testRegistry holds wordcount writing to out, "fail", whose operator
// "explode" fails at the record 2, and "numbers", an unbounded sequence
// of integers written to out as JSON at 1000 a second per subtask.
func testRegistry(t testing.TB, out io.Writer) *actors.Registry {
	t.Helper()
	reg := actors.NewRegistry()
	reg.MustRegister(wordcount.SpecTo(out))
	reg.MustRegister(actors.PipelineSpec{Name: "fail", Description: "fails", Build: func(actors.Params) (*operators.Pipeline, error) {
		p := operators.NewPipeline("fail")
		src := operators.FromSlice(p, []int{1, 2, 3}).Name("ints")
		boom := operators.Process(src, func(ctx *operators.ProcessContext, v int, out operators.Collector[int]) error {
			ts := ctx.Timestamp()
			if v == 2 {
				return errors.New("kaboom at 2")
			}
			out.Collect(v, ts)
			return nil
		}).Name("explode")
		operators.Discard(boom)
		return p, nil
	}})
	reg.MustRegister(actors.PipelineSpec{Name: "lossy", Description: "a channel JSON cannot carry", Build: func(actors.Params) (*operators.Pipeline, error) {
		p := operators.NewPipeline("lossy")
		src := operators.FromSlice(p, []hidden{{n: 1}, {n: 2}}).Name("hidden")
		operators.Discard(src.Rebalance()).Name("sink")
		return p, nil
	}})
	reg.MustRegister(actors.PipelineSpec{Name: "numbers", Description: "unbounded", Build: func(actors.Params) (*operators.Pipeline, error) {
		p := operators.NewPipeline("numbers")
		seq := operators.Generate(p, -1, func(n int64) int64 { return n }, operators.RateLimit(1000)).Name("seq")
		operators.WriteJSONLines(seq, out).Name("sink")
		return p, nil
	}})
	return reg
}

// hidden is a record JSON cannot round-trip: its one field is unexported.
type hidden struct{ n int }

// runMain calls Main and returns its exit code and what it wrote.
func runMain(t testing.TB, reg *actors.Registry, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(args, reg, &out, &errOut, WithName("node"))
	return code, out.String(), errOut.String()
}

func TestMain_pipelines(t *testing.T) {
	code, out, errOut := runMain(t, testRegistry(t, io.Discard), "pipelines")
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"fail  fails", "numbers  unbounded", "wordcount  count the words",
		"input   required", "output  optional", "rate    default 0", "text file to read",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "fail") > strings.Index(out, "numbers") || strings.Index(out, "numbers") > strings.Index(out, "wordcount") {
		t.Errorf("pipelines not sorted by name:\n%s", out)
	}
}

func TestMain_pipelines_none(t *testing.T) {
	if code, out, _ := runMain(t, nil, "pipelines"); code != ExitOK || !strings.Contains(out, "No pipelines") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

func TestMain_help(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"}, {"help", "run"}, {"run", "--help"}, {"run", "wordcount", "-h"}, {"pipelines", "--help"},
	} {
		code, out, errOut := runMain(t, testRegistry(t, io.Discard), args...)
		if code != ExitOK || !strings.HasPrefix(out, "Usage") || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestMain_usageErrors(t *testing.T) {
	wc := []string{"run", "wordcount", "-p", "input=" + writeText(t)}
	tests := []struct {
		args []string
		want string // in stderr: the offending word
	}{
		{nil, "missing command"},
		{[]string{"frobnicate"}, `"frobnicate"`},
		{[]string{"help", "nope"}, `"nope"`},
		{[]string{"pipelines", "extra"}, `"extra"`},
		{[]string{"run"}, "missing PIPELINE"},
		{[]string{"run", "nope"}, `"nope"`},
		{[]string{"run", "wordcount"}, `"input"`},
		{[]string{"run", "wordcount", "extra"}, `"extra"`},
		{[]string{"run", "--bogus", "wordcount"}, "-bogus"},
		{[]string{"run", "wordcount", "--param", "foo"}, `"foo"`},
		{[]string{"run", "wordcount", "-p", "=x"}, `"=x"`},
		{append(wc, "-p", "zz=1"), `"zz"`},
		{append(wc, "-p", "input=y"), `"input" given twice`},
		{append(wc, "-p", "rate=fast"), `rate="fast"`},
		{append(wc, "--parallelism", "0"), `"0" for flag -parallelism`},
		{append(wc, "--parallelism", "two"), `"two" for flag -parallelism`},
		{append(wc, "--parallelism", "1000"), "parallelism 1000"},
		{append(wc, "--memory", "lots"), `"lots" for flag -memory: want a size such as 512MiB`},
		{append(wc, "--memory", "512M"), `"512M" for flag -memory`},
		{append(wc, "--memory", "1MiB"), "below the least budget, 16MiB"},
		{append(wc, "--gc-percent", "0"), `"0" for flag -gc-percent: want a positive percentage, such as 400, or off`},
		{append(wc, "--gc-percent", "-1"), `"-1" for flag -gc-percent`},
		{append(wc, "--gc-percent", "off"), "--gc-percent off needs --memory"},
		// 64 × 64 channels cannot fit a quarter of 16 MiB
		{append(wc, "--memory", "16MiB", "--parallelism", "64"), "--memory 16MiB: job \"wordcount\""},
		// unaligned checkpoints would replay its in-flight records as zero values
		{[]string{"run", "lossy", "--unaligned", "--checkpoint-interval", "100ms"}, "--unaligned: "},
	}
	for _, tt := range tests {
		code, out, errOut := runMain(t, testRegistry(t, io.Discard), tt.args...)
		if code != ExitUsage || out != "" {
			t.Errorf("%q: exit %d, stdout %q; want exit 2 and no output", tt.args, code, out)
		}
		if !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "--help") {
			t.Errorf("%q: stderr %q lacks %q or a hint to --help", tt.args, errOut, tt.want)
		}
	}
}

func TestMain_run_jobFails(t *testing.T) {
	code, _, errOut := runMain(t, testRegistry(t, io.Discard), "run", "fail")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1; stderr %q", code, errOut)
	}
	for _, want := range []string{`job "fail" failed`, `operator "explode"`, "kaboom at 2"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := strings.Count(errOut, "kaboom at 2"); n != 1 {
		t.Errorf("the failure is reported %d times, want once:\n%s", n, errOut)
	}
}

func TestMain_run_wordcountStdout(t *testing.T) {
	input := writeText(t)
	for _, args := range [][]string{
		{"run", "wordcount", "--param", "input=" + input},
		{"run", "--parallelism", "3", "-p", "input=" + input, "wordcount", "-p", "rate=0"},
		{"run", "wordcount", "--param", "input=" + input, "--memory", "256MiB"},
	} {
		out := newSyncBuffer()
		code, _, errOut := runMain(t, testRegistry(t, out), args...)
		if code != ExitOK || errOut != "" {
			t.Fatalf("%q: exit %d, stderr %q", args, code, errOut)
		}
		checkCounts(t, out.String(), totals(t, input))
	}
}

func TestMain_run_wordcountFiles(t *testing.T) {
	input, dir := writeText(t), t.TempDir()
	code, _, errOut := runMain(t, testRegistry(t, io.Discard),
		"run", "wordcount", "-p", "input="+input, "-p", "output="+dir, "--parallelism", "2")
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	parts, err := filepath.Glob(filepath.Join(dir, "part-*.jsonl"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("no part files in %s (%v)", dir, err)
	}
	var all strings.Builder
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	checkCounts(t, all.String(), totals(t, input))
}

// writeText writes a few lines with repeated words into a temp file.
func writeText(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for i := range 200 {
		b.WriteString("The quick brown fox, the lazy dog; Ünïcode and 42x. ")
		if i%3 == 0 {
			b.WriteString("don't panic\n")
		}
	}
	path := filepath.Join(t.TempDir(), "input.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// totals counts the words of a file sequentially: the reference.
func totals(t testing.TB, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return wordcount.Totals(string(b))
}

// checkCounts checks that every word's counts are exactly 1..want[word].
func checkCounts(t testing.TB, out string, want map[string]int) {
	t.Helper()
	if err := wordcount.Verify(strings.NewReader(out), want); err != nil {
		t.Fatal(err)
	}
}

// discardLogger drops every record.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// A program of one's own speaks as itself (issue 18, item 8): by default
// Main names the command after the executable, in messages and in the
// usage of every command.
func TestMain_programName(t *testing.T) {
	for _, c := range []struct{ args0, want string }{
		{"/usr/local/bin/clicks", "clicks"}, {"clicks.exe", "clicks"}, {"", "node"},
	} {
		if got := programName([]string{c.args0}); got != c.want {
			t.Errorf("programName(%q) = %q, want %q", c.args0, got, c.want)
		}
	}
	for _, args := range [][]string{{"help", "run"}, {"run", "--help"}, {"help"}, {"help", "submit"}} {
		var out, errOut bytes.Buffer
		if code := Main(args, testRegistry(t, io.Discard), &out, &errOut, WithName("clicks")); code != ExitOK {
			t.Fatalf("%q: exit %d", args, code)
		}
		if strings.Contains(out.String(), "node run") || strings.Contains(out.String(), "node submit") || !strings.Contains(out.String(), "clicks "+args[len(args)-1]) && !strings.Contains(out.String(), "clicks run") {
			t.Errorf("%q: usage does not speak as clicks:\n%s", args, out.String())
		}
	}
	var out, errOut bytes.Buffer
	Main([]string{"run", "nope"}, testRegistry(t, io.Discard), &out, &errOut, WithName("clicks"))
	if !strings.HasPrefix(errOut.String(), "clicks run: ") || !strings.Contains(errOut.String(), "'clicks pipelines'") {
		t.Errorf("error does not speak as clicks: %q", errOut.String())
	}
}

// Each failure is reported once: a restart by its restart line, the last
// by the job's failure; the engine does not log them again.
func TestMain_run_restartsReportedOnce(t *testing.T) {
	code, _, errOut := runMain(t, testRegistry(t, io.Discard), "run", "fail", "--restart", "fixed:1:0s")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1; stderr %q", code, errOut)
	}
	if n := strings.Count(errOut, "kaboom at 2"); n != 2 {
		t.Errorf("the two failures are reported %d times, want twice (once each):\n%s", n, errOut)
	}
}

// --gc-percent above what the runtime takes (an int32) is a usage error
// naming the flag, before anything starts: runtime/debug.SetGCPercent
// would wrap 2147483648 and 4294967295 round to a negative target, which
// the runtime reads as off, and without --memory nothing would collect.
func TestReviewGC_gcPercentFlagWithinTheRuntimes(t *testing.T) {
	wc := []string{"run", "wordcount", "-p", "input=" + writeText(t), "--quiet"}
	for _, arg := range []string{"2147483648", "4294967295"} {
		if _, err := parseStart([]string{"--gc-percent", arg}); err == nil || !strings.Contains(err.Error(), "-gc-percent") {
			t.Errorf("node start --gc-percent %s: %v, want an error naming the flag", arg, err)
		}
		code, _, errOut := runMain(t, testRegistry(t, io.Discard), append(wc, "--gc-percent", arg)...)
		if code != ExitUsage || !strings.Contains(errOut, `"`+arg+`" for flag -gc-percent`) {
			t.Errorf("node run --gc-percent %s: exit %d, stderr %q; want exit 2 naming the flag", arg, code, errOut)
		}
	}
	if ra, err := parseRun([]string{"wc", "--gc-percent", "2147483647"}); err != nil || ra.gcPercent != 2147483647 {
		t.Errorf("--gc-percent 2147483647, the runtime's largest: %d, %v", ra.gcPercent, err)
	}
}
