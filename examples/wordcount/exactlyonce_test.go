package wordcount

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/testkit"
)

// With checkpoints, a failure in the counter restarts the job from its
// latest checkpoint, and the output directory (the exactly-once file
// sink) still holds every running count exactly once, and nothing hidden.
func TestNew_outputDir_exactlyOnceAfterFailure(t *testing.T) {
	var b strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&b, "the w%d fox x%d the\n", i%41, i%5)
	}
	input := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(input, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	r := testkit.NewRunner(t, testkit.WithCheckpoints(10*time.Millisecond))
	r.Faults().FailAt("count", testkit.AtRecord(5000))
	p, err := New(Config{Input: input, Output: out, Rate: 20000})
	if err != nil {
		t.Fatal(err)
	}
	p.SetParallelism(2)
	if res := r.Run(p); res.Err != nil || res.Restarts != 1 {
		t.Fatalf("%v; want one failure and restart", res)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("uncommitted file %s left", e.Name())
			continue
		}
		data, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
	}
	if err := Verify(strings.NewReader(all.String()), Totals(b.String())); err != nil {
		t.Fatal(err)
	}
}
