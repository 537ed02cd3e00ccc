package enrich

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/testkit"
)

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

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// writeLines writes lines into a temporary file and returns its path.
func writeLines(t testing.TB, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lines.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runSpec builds the registered pipeline from params and runs it on an
// engine of its own, as the node command does.
func runSpec(t *testing.T, stdout *syncBuffer, params map[string]string, parallelism int) {
	t.Helper()
	reg := actors.NewRegistry()
	reg.MustRegister(SpecTo(stdout))
	p, err := reg.Build(Name, params, parallelism)
	if err != nil {
		t.Fatal(err)
	}
	r := testkit.NewRunner(t, testkit.WithRestart(actors.NoRestart()))
	if res := r.Run(p); res.State != actors.JobFinished {
		t.Fatalf("%v", res)
	}
}

// decodeLines parses JSON lines into records, checking each is one line.
func decodeLines(t testing.TB, b []byte) []Record {
	t.Helper()
	var recs []Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestSpec_outputs(t *testing.T) {
	const n = 400
	svc := newFakeService(t, n, 10, 0, time.Millisecond, withFlaky(11))
	input := writeInput(t, n)
	for _, tc := range []struct {
		name        string
		params      map[string]string
		parallelism int
	}{
		{"stdout", map[string]string{"mode": "unordered", "capacity": "20"}, 3},
		{"files", map[string]string{"output": filepath.Join(t.TempDir(), "out"), "backoff": "fixed:1ms", "timeout": "0"}, 1},
		{"files at parallelism 3", map[string]string{"output": t.TempDir()}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout syncBuffer
			tc.params["input"], tc.params["url"] = input, svc.URL()
			runSpec(t, &stdout, tc.params, tc.parallelism)
			recs := decodeLines(t, stdout.Bytes())
			if dir := tc.params["output"]; dir != "" {
				var others []string
				if recs, others = testkit.ReadCommitted[Record](t, dir); len(others) > 0 || stdout.Bytes() != nil {
					t.Fatalf("output dir holds %q besides part files; stdout %q", others, stdout.Bytes())
				}
			}
			testkit.AssertExactlyOnce(t, sentIDs(n), recs, recordID)
			for _, rec := range recs {
				checkEnriched(t, rec)
			}
			for i := range svc.tries {
				svc.tries[i].Store(0) // the next case meets the same flaky ids
			}
		})
	}
}

func TestSpec_badParams(t *testing.T) {
	reg := actors.NewRegistry()
	reg.MustRegister(Spec())
	input := writeLines(t, `{"id": 1}`)
	for _, tc := range []struct{ param, value string }{
		{"url", "://nope"}, {"url", "ftp://host/x"}, {"url", "/relative"}, {"url", "http://host/#frag"},
		{"mode", "sideways"}, {"on-error", "ignore"},
		{"capacity", "0"}, {"capacity", "many"}, {"capacity", "9999999999"},
		{"timeout", "soon"}, {"timeout", "-1s"},
		{"retries", "0"}, {"retries", "x"},
		{"backoff", "linear:1ms"}, {"backoff", "fixed:x"}, {"backoff", "fixed:-1ms"},
		{"backoff", "exp:10ms:2"}, {"backoff", "exp:10ms:0.5:1s"}, {"backoff", "exp:1s:2:10ms"},
	} {
		params := map[string]string{"input": input, "url": "http://localhost:1/x", tc.param: tc.value}
		_, err := reg.Build(Name, params, 0)
		if !errors.Is(err, actors.ErrBadParam) || !strings.Contains(err.Error(), tc.param+`="`+tc.value+`"`) {
			t.Errorf("%s=%s: error %v, want ErrBadParam naming it", tc.param, tc.value, err)
		}
	}
	if _, err := reg.Build(Name, map[string]string{"input": input}, 0); !errors.Is(err, actors.ErrBadParam) {
		t.Errorf("no url: error %v, want ErrBadParam", err)
	}
}

// The output is a directory of part files: an existing file, or a path
// that cannot be written, is a bad parameter when the pipeline is built,
// before any job starts, and the file is left as it was.
func TestSpec_badOutput(t *testing.T) {
	reg := actors.NewRegistry()
	reg.MustRegister(Spec())
	file := writeLines(t, `{"id": 1}`)
	for _, tc := range []struct{ output, why string }{
		{file, "is a file, not a directory"},
		{filepath.Join(file, "out"), file + " is a file"},
	} {
		params := map[string]string{"input": file, "url": "http://localhost:1/x", "output": tc.output}
		_, err := reg.Build(Name, params, 0)
		if !errors.Is(err, actors.ErrBadParam) || !strings.Contains(err.Error(), `output="`+tc.output+`"`) ||
			!strings.Contains(err.Error(), tc.why) {
			t.Errorf("output=%s: error %v, want ErrBadParam naming it and saying %q", tc.output, err, tc.why)
		}
		if _, err := New(Config{Input: "in.jsonl", URL: "http://h/", Output: tc.output}); !errors.Is(err, ErrConfig) ||
			!strings.Contains(err.Error(), "Output") {
			t.Errorf("Config.Output %s: error %v, want ErrConfig naming Output", tc.output, err)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "{\"id\": 1}\n" {
		t.Errorf("the file was changed: %q, %v", b, err)
	}
}

func TestEnrich_badConfig(t *testing.T) {
	for _, cfg := range []Config{{URL: "nope"}, {URL: "http://h/", Capacity: -1}, {URL: "http://h/", Timeout: -1},
		{URL: "http://h/", OnError: 7}} {
		if _, err := New(Config{Input: "x", URL: cfg.URL, Capacity: cfg.Capacity, Timeout: cfg.Timeout,
			OnError: cfg.OnError}); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: error %v, want ErrConfig", cfg, err)
		}
	}
	if _, err := New(Config{URL: "http://h/"}); !errors.Is(err, ErrConfig) {
		t.Errorf("no input: error %v, want ErrConfig", err)
	}
}
