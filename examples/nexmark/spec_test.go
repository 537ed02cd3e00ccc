package nexmark

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/testkit"
)

func registry(t testing.TB, stdout *bytes.Buffer) *actors.Registry {
	t.Helper()
	reg := actors.NewRegistry()
	reg.MustRegister(SpecTo(stdout))
	return reg
}

func TestSpec_badParams(t *testing.T) {
	tests := []struct {
		params map[string]string
		names  string // what the error must contain
	}{
		{map[string]string{"events": "10"}, `"query"`},
		{map[string]string{"query": "q4", "events": "10"}, `query="q4"`},
		{map[string]string{"query": "q1"}, "input"},
		{map[string]string{"query": "q1", "events": "10", "input": "x.jsonl"}, `events="10"`},
		{map[string]string{"query": "q1", "events": "many"}, `events="many"`},
		{map[string]string{"query": "q1", "events": "-5"}, `events="-5"`},
		{map[string]string{"query": "q1", "events": "10", "rate": "-1"}, `rate="-1"`},
		{map[string]string{"query": "q1", "events": "10", "rate": "fast"}, `rate="fast"`},
		{map[string]string{"query": "q1", "events": "10", "speed": "1"}, `"speed"`},
	}
	reg := registry(t, &bytes.Buffer{})
	for _, tt := range tests {
		_, err := reg.Build(Name, tt.params, 0)
		if !errors.Is(err, actors.ErrBadParam) || !strings.Contains(err.Error(), tt.names) {
			t.Errorf("%v: error %v, want ErrBadParam naming %s", tt.params, err, tt.names)
		}
	}
	for _, q := range Queries() {
		if _, err := reg.Build(Name, map[string]string{"query": q, "events": "10", "output": Discard, "rate": "5"}, 2); err != nil {
			t.Errorf("%s: %v", q, err)
		}
	}
}

// The whole pipeline from a file of events to part files: q1's rows are
// the reference's, with prices that have decimals.
func TestSpec_fileToFiles(t *testing.T) {
	evs := testGenerator(t).Events(0, 2000)
	in, out := writeEvents(t, evs, nil), t.TempDir()
	p, err := registry(t, &bytes.Buffer{}).Build(Name, map[string]string{"query": "q1", "input": in, "output": out}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	parts, _ := filepath.Glob(filepath.Join(out, "part-*.jsonl"))
	var lines []byte
	for _, f := range parts {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, b...)
	}
	if !bytes.Contains(lines, []byte(`"price":`)) || !bytes.Contains(lines, []byte(".")) {
		t.Errorf("no decimal prices in %.200s", lines)
	}
	equalMultisets(t, decodeRows[Q1Row](t, lines), refQ1(evs))
}

// The generator to standard output: q11's JSON lines are the reference's.
func TestSpec_generatorToStdout(t *testing.T) {
	var stdout bytes.Buffer
	p, err := registry(t, &stdout).Build(Name, map[string]string{"query": "q11", "events": "3000"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	g, _ := NewGenerator(GeneratorConfig{})
	equalMultisets(t, decodeRows[Q11Row](t, stdout.Bytes()), refQ11(g.Events(0, 3000)))
	if !bytes.Contains(stdout.Bytes(), []byte(`"bid_count":`)) {
		t.Errorf("no bid_count field in %.200s", stdout.Bytes())
	}
}

func decodeRows[T any](t testing.TB, b []byte) []T {
	t.Helper()
	var rows []T
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var r T
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	return rows
}
