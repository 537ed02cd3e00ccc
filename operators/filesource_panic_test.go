package operators_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

// touchy is a record whose decoder (user code run on the file source's
// fetcher goroutine) panics on a negative n.
type touchy struct{ N int }

func (t *touchy) UnmarshalJSON(b []byte) error {
	var v struct{ N int }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.N < 0 {
		panic("touchy: negative n")
	}
	t.N = v.N
	return nil
}

// Review finding 11: a panic in the user's decoding on the file source's
// fetcher goroutine fails the job (here without restarts; with them it
// restarts from its checkpoint), with an error that names the operator,
// the file and the line; it does not kill the process.
func TestReadJSONLines_decoderPanicFailsJob(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte("{\"N\":1}\n{\"N\":2}\n{\"N\":-3}\n{\"N\":4}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := testkit.NewRunner(t, testkit.WithRestart(actors.NoRestart()))
	p := operators.NewPipeline("touchy").SetParallelism(1)
	operators.Collect(operators.ReadJSONLines[touchy](p, path).Name("events"))
	res := r.Run(p)
	if res.State != actors.JobFailed || !errors.Is(res.Err, operators.ErrSourcePanic) {
		t.Fatalf("got %v, want failed with ErrSourcePanic", res)
	}
	for _, want := range []string{`operator "events"`, path + " line 3", "touchy: negative n"} {
		if !strings.Contains(res.Err.Error(), want) {
			t.Errorf("error %q does not name %s", res.Err, want)
		}
	}
}
