package operators

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recordingShipper keeps the batches and events a chain ships, in order.
// Chains that end in a sink ship nothing, which the tests check.
type recordingShipper struct {
	batches []any
	events  []shipped // batches and events interleaved
}

type shipped struct {
	ch    int
	batch any
	ev    Event
}

func (s *recordingShipper) Ship(ch int, batch any) {
	s.batches = append(s.batches, batch)
	s.events = append(s.events, shipped{ch: ch, batch: batch})
}

func (s *recordingShipper) ShipEvent(ch int, ev Event) {
	s.events = append(s.events, shipped{ch: ch, ev: ev})
}

// testSubtask is one subtask of a single-vertex pipeline, driven from the
// test's goroutine as the runtime drives it.
type testSubtask struct {
	t     testing.TB
	chain *Chain
	ship  recordingShipper
	wake  chan struct{}
	wakes atomic.Int64
	waits int          // PollWait results that wait for a Wake
	clock *manualClock // nil: real time, no rate limit expected
}

// openTestSubtask opens subtask i of v; the chain is closed on cleanup.
func openTestSubtask(t testing.TB, v *Vertex, i int, clock *manualClock) (*testSubtask, error) {
	t.Helper()
	s := &testSubtask{t: t, wake: make(chan struct{}, 1), clock: clock}
	cfg := ChainConfig{Job: "test", Subtask: i, BatchSize: 16, Ship: &s.ship, Wake: s.onWake}
	if clock != nil {
		cfg.Now = clock.Now
	}
	c, err := v.Open(cfg)
	if err != nil {
		return nil, err
	}
	s.chain = c
	t.Cleanup(func() { _ = c.Close() })
	return s, nil
}

// onWake may be called from the fetcher's goroutine.
func (s *testSubtask) onWake() {
	s.wakes.Add(1)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// poll polls the source once, then, on PollWait, waits for the Wake (or
// moves the manual clock to the poll's Until).
func (s *testSubtask) poll() (PollStatus, error) {
	s.t.Helper()
	p, err := s.chain.Source.Poll(16)
	s.chain.BatchEnd()
	if err == nil {
		err = s.chain.Err()
	}
	if err != nil || p.Status != PollWait {
		return p.Status, err
	}
	if !p.Until.IsZero() {
		// A microsecond past Until: see TestRateLimiter_allow_untilIsDue.
		s.clock.Set(p.Until.Add(time.Microsecond))
		return PollWait, nil
	}
	s.waits++
	select {
	case <-s.wake:
	case <-time.After(10 * time.Second):
		s.t.Fatalf("source returned PollWait and never woke the task")
	}
	return PollWait, nil
}

// run polls until the source ends, ends the input and closes the chain; it
// returns the first error.
func (s *testSubtask) run() error {
	s.t.Helper()
	for {
		st, err := s.poll()
		if err == nil && st == PollDone {
			err = s.chain.EndInput()
		}
		if err != nil || st == PollDone {
			return errors.Join(err, s.chain.Close())
		}
	}
}

// onlyVertex builds p and returns its single vertex: a source chained into
// a sink.
func onlyVertex(t testing.TB, p *Pipeline) *Vertex {
	t.Helper()
	g, err := p.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if len(g.Vertices) != 1 {
		t.Fatalf("pipeline compiled to %d vertices, want 1", len(g.Vertices))
	}
	return g.Vertices[0]
}

// runSubtasks runs every subtask of p, a source chained into a sink, one
// after another, and returns their errors.
func runSubtasks(t testing.TB, p *Pipeline) []error {
	t.Helper()
	v := onlyVertex(t, p)
	errs := make([]error, v.Parallelism)
	for i := range errs {
		s, err := openTestSubtask(t, v, i, nil)
		if err == nil {
			err = s.run()
			if len(s.ship.batches) > 0 {
				t.Fatalf("subtask %d shipped %d batches; a chain ending in a sink ships none", i, len(s.ship.batches))
			}
		}
		errs[i] = err
	}
	return errs
}

// bySubtask returns the values each of n subtasks collected.
func bySubtask[T any](c *Collected[T], n int) [][]T {
	vals := make([][]T, n)
	for i, part := range c.BySubtask() {
		for _, e := range part {
			vals[i] = append(vals[i], e.Value)
		}
	}
	return vals
}

func writeFile(t testing.TB, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// expectedSplits is the reference for ReadLines: the lines of data, without
// terminators, grouped by the subtask whose byte range holds their start.
func expectedSplits(data string, n int) [][]string {
	out := make([][]string, n)
	off := 0
	for _, raw := range strings.SplitAfter(data, "\n") {
		if raw == "" {
			break // after a final "\n", or an empty file
		}
		owner := 0
		for i := range n {
			if i*len(data)/n <= off && off < (i+1)*len(data)/n {
				owner = i
			}
		}
		line := raw
		if strings.HasSuffix(line, "\n") {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		}
		out[owner] = append(out[owner], line)
		off += len(raw)
	}
	return out
}

func manyLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d%s\n", i, strings.Repeat("z", i%37))
	}
	return b.String()
}

func TestReadLines_splits(t *testing.T) {
	cases := []struct{ name, data string }{
		{"empty file", ""},
		{"single line", "only"},
		{"single line with newline", "only\n"},
		{"newlines only", "\n\n\n"},
		{"empty lines", "a\n\nb\n\n\nc\n"},
		{"no trailing newline", "a\nbb\nccc"},
		{"crlf", "a\r\nb\r\n\r\nc\r\n"},
		{"lone cr is data", "a\rb\nc\r"},
		{"lines over 64 KiB", strings.Repeat("x", 70_000) + "\nshort\n" + strings.Repeat("y", 200_000)},
		{"many lines", manyLines(3000)},
	}
	for _, c := range cases {
		path := writeFile(t, "in.txt", c.data)
		for _, n := range []int{1, 2, 3, 4, 7} {
			t.Run(fmt.Sprintf("%s/p%d", c.name, n), func(t *testing.T) {
				p := NewPipeline("t").SetParallelism(n)
				col := Collect(ReadLines(p, path))
				errs := runSubtasks(t, p)
				got, want := bySubtask(col, n), expectedSplits(c.data, n)
				for i := range n {
					if errs[i] != nil {
						t.Fatalf("subtask %d: %v", i, errs[i])
					}
					if !slices.Equal(got[i], want[i]) {
						t.Errorf("subtask %d: got %d lines %.80q, want %d lines %.80q", i, len(got[i]), got[i], len(want[i]), want[i])
					}
				}
			})
		}
	}
}

func TestReadLines_openErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, path string
		is         error
		msg        string
	}{
		{"missing file", filepath.Join(dir, "missing.txt"), fs.ErrNotExist, "no such file"},
		{"directory", dir, nil, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := NewPipeline("t")
			Discard(ReadLines(p, c.path))
			_, err := openTestSubtask(t, onlyVertex(t, p), 0, nil)
			var oe *OperatorError
			if !errors.As(err, &oe) || oe.Operator != "readlines-1" {
				t.Fatalf("open: %v, want an OperatorError naming readlines-1", err)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("open: %v, want it to wrap %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("open: %q, want the path and %q", err, c.msg)
			}
		})
	}
}

// fileReaderOf digs the reader out of an opened file source.
func fileReaderOf[T any](t testing.TB, c *Chain) *fileReader[T] {
	t.Helper()
	r, ok := c.Source.(*sourceRunner[T]).reader.(*fileReader[T])
	if !ok {
		t.Fatalf("source reader is %T", c.Source.(*sourceRunner[T]).reader)
	}
	return r
}

// closeWithin closes c, failing the test if Close blocks.
func closeWithin(t testing.TB, c *Chain) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked for 10s")
	}
}

// waitGoroutines polls until at most n goroutines run; no sleeping, the
// exiting goroutine needs only to be scheduled.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > n; runtime.Gosched() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
	}
}

func TestReadLines_Close_stopsFetcher(t *testing.T) {
	// Far more lines than the queue holds, so the fetcher blocks on it.
	path := writeFile(t, "big.txt", manyLines(50_000))
	for _, lines := range []int{0, 1, 3 * fetchChunkRecords} {
		t.Run(fmt.Sprintf("after %d lines", lines), func(t *testing.T) {
			before := runtime.NumGoroutine()
			p := NewPipeline("t")
			col := Collect(ReadLines(p, path))
			s, err := openTestSubtask(t, onlyVertex(t, p), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := fileReaderOf[string](t, s.chain)
			for len(col.Values()) < lines {
				if _, err := s.poll(); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 { // Close is idempotent
				closeWithin(t, s.chain)
			}
			select {
			case <-r.done:
			default:
				t.Fatal("Close returned before the fetcher exited")
			}
			if err := r.Close(); err != nil { // again, on the reader itself
				t.Fatalf("second Close: %v", err)
			}
			waitGoroutines(t, before)
		})
	}
}

// TestReadLines_Wake_coalesced checks that a fetcher that keeps ahead of
// Poll never calls Wake, and that it wakes the task once Poll waited.
func TestReadLines_Wake_coalesced(t *testing.T) {
	path := writeFile(t, "big.txt", manyLines(10*fetchChunkRecords))
	p := NewPipeline("t")
	Collect(ReadLines(p, path))
	s, err := openTestSubtask(t, onlyVertex(t, p), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := fileReaderOf[string](t, s.chain)
	for deadline := time.Now().Add(5 * time.Second); len(r.q.chunks) < cap(r.q.chunks); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("fetcher filled %d of %d chunks", len(r.q.chunks), cap(r.q.chunks))
		}
	}
	if n := s.wakes.Load(); n != 0 {
		t.Fatalf("fetcher called Wake %d times while nobody waited", n)
	}
	if err := s.run(); err != nil {
		t.Fatal(err)
	}
	if n := s.wakes.Load(); n > int64(s.waits)+1 {
		t.Errorf("%d wakes for %d waits", n, s.waits)
	}
}

// TestReadLines_RateLimit checks that RateLimit paces a file source: 250
// lines at 100/s take 2.5s of the (manual) clock.
func TestReadLines_RateLimit(t *testing.T) {
	data := manyLines(250)
	path := writeFile(t, "in.txt", data)
	p := NewPipeline("t")
	col := Collect(ReadLines(p, path, RateLimit(100)))
	clock := newManualClock()
	start := clock.Now()
	s, err := openTestSubtask(t, onlyVertex(t, p), 0, clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.run(); err != nil {
		t.Fatal(err)
	}
	if got, want := col.Values(), expectedSplits(data, 1)[0]; !slices.Equal(got, want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	if d := clock.Now().Sub(start); d < 2400*time.Millisecond || d > 2600*time.Millisecond {
		t.Fatalf("250 lines at 100/s took %v, want about 2.5s", d)
	}
}

type jsonRec struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func TestReadJSONLines_decodes(t *testing.T) {
	data := `{"name":"a","n":1}` + "\n\n" + `  {"name":"b","n":2}  ` + "\r\n\t \r\n" + `{"name":"c","n":3}`
	path := writeFile(t, "in.jsonl", data)
	want := []jsonRec{{"a", 1}, {"b", 2}, {"c", 3}}
	for _, n := range []int{1, 2, 3} {
		p := NewPipeline("t").SetParallelism(n)
		col := Collect(ReadJSONLines[jsonRec](p, path))
		if err := errors.Join(runSubtasks(t, p)...); err != nil {
			t.Fatalf("p%d: %v", n, err)
		}
		if got := col.Values(); !slices.Equal(got, want) {
			t.Errorf("p%d: got %v, want %v", n, got, want)
		}
	}
}

// ownerOf returns the subtask whose range holds the start of a 1-based line.
func ownerOf(data string, line, n int) int {
	off := 0
	for range line - 1 {
		off += strings.IndexByte(data[off:], '\n') + 1
	}
	return off * n / len(data) // the largest i with i*size/n <= off
}

func TestReadJSONLines_badLine(t *testing.T) {
	good := func(i int) string { return fmt.Sprintf(`{"name":%q,"n":%d}`, strings.Repeat("p", 200), i) }
	var many []string
	for i := range 50 {
		many = append(many, good(i))
	}
	many[39] = `{"name": oops}`
	cases := []struct {
		name  string
		lines []string
		par   int
		bad   int // 1-based
	}{
		{"p1", []string{good(1), good(2), `{"name":`, good(4)}, 1, 3},
		{"p2 bad line in subtask 1", []string{good(1), good(2), `{"name":`, good(4)}, 2, 3},
		{"blank lines count", []string{"", good(1), "  ", "[1,2]"}, 2, 4},
		{"trailing garbage", []string{good(1), good(2), good(3) + " 7"}, 3, 3},
		{"p3 line 40", many, 3, 40},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := strings.Join(c.lines, "\n") + "\n"
			path := writeFile(t, "data.jsonl", data)
			p := NewPipeline("t").SetParallelism(c.par)
			col := Collect(ReadJSONLines[jsonRec](p, path))
			errs := runSubtasks(t, p)
			failing := ownerOf(data, c.bad, c.par)
			for i, err := range errs {
				if i != failing {
					if err != nil {
						t.Errorf("subtask %d: %v, want no error", i, err)
					}
					continue
				}
				if !errors.Is(err, ErrDecode) {
					t.Fatalf("subtask %d: %v, want ErrDecode", i, err)
				}
				if msg := err.Error(); !strings.Contains(msg, path+fmt.Sprintf(" line %d:", c.bad)) {
					t.Errorf("subtask %d: %q, want it to name %s line %d", i, msg, path, c.bad)
				}
			}
			// The lines before the bad one were all emitted.
			if got, want := len(col.Values()), countGood(c.lines[:c.bad-1]); got < want {
				t.Errorf("%d records emitted, want at least the %d before the bad line", got, want)
			}
		})
	}
}

func countGood(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

// readJSONAll reads path with parallelism n as the job would see it: the
// values of the subtasks in order, up to the first that fails, and its
// error without the OperatorError that names the subtask.
func readJSONAll(t *testing.T, path string, n int) ([]any, error) {
	p := NewPipeline("fuzz").SetParallelism(n)
	col := Collect(ReadJSONLines[any](p, path))
	errs := runSubtasks(t, p)
	vals := bySubtask(col, n)
	var all []any
	for i := range n {
		all = append(all, vals[i]...)
		if errs[i] != nil {
			var oe *OperatorError
			if !errors.As(errs[i], &oe) {
				t.Fatalf("subtask %d: %v, want an OperatorError naming it", i, errs[i])
			}
			return all, oe.Err
		}
	}
	return all, nil
}

// FuzzReadJSONLines checks that any file reads without panicking, that a
// failure is always a decode error, and that parallelism 3 reads the same
// values and fails at the same line as parallelism 1.
func FuzzReadJSONLines(f *testing.F) {
	for _, seed := range []string{
		"", "1\n2\n3", `{"a":1}` + "\r\n\n" + `[1,"x"]` + "\n", "1\nx\n2\n", "\n\n\"s\"\n",
		"{\n}\n", "1 2\n", "\r\n\r\n", strings.Repeat("7\n", 100), "\"\xff\"\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "in.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want, wantErr := readJSONAll(t, path, 1)
		if wantErr != nil && !errors.Is(wantErr, ErrDecode) {
			t.Fatalf("p1: %v, want ErrDecode", wantErr)
		}
		got, gotErr := readJSONAll(t, path, 3)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("p3 error %v, p1 error %v", gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("p3 read %v, p1 read %v", got, want)
		}
	})
}
