package nexmark

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/testkit"
)

func TestEvent_MarshalJSON_format(t *testing.T) {
	b, err := json.Marshal(BidEvent(&Bid{Auction: 1001, Bidder: 1002, Price: 150, Channel: "Apple", URL: "u", DateTime: 5, Extra: "x"}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"bid","auction":1001,"bidder":1002,"price":150,"channel":"Apple","url":"u","dateTime":5,"extra":"x"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestEvent_JSON_roundTrip(t *testing.T) {
	g := testGenerator(t)
	for _, e := range g.Events(0, 200) {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var back Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("round trip of %s gave %+v", b, back)
		}
	}
}

func TestEvent_UnmarshalJSON_errors(t *testing.T) {
	for _, line := range []string{`{"id":1}`, `{"type":"seller","id":1}`, `{"type":"bid","price":"high"}`, `[1]`} {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err == nil {
			t.Errorf("%s: decoded as %+v, want an error", line, e)
		}
	}
	var e Event
	if err := json.Unmarshal([]byte(`{"type":"seller"}`), &e); !errors.Is(err, ErrEvent) || !strings.Contains(err.Error(), `"seller"`) {
		t.Errorf("unknown type: %v, want ErrEvent naming it", err)
	}
}

// writeEvents writes events as a JSON-lines file, with extra lines
// inserted before the given 0-based event indexes.
func writeEvents(t testing.TB, evs []Event, insert map[int]string) string {
	t.Helper()
	var sb strings.Builder
	for i, e := range evs {
		if line, ok := insert[i]; ok {
			sb.WriteString(line + "\n")
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(append(b, '\n'))
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadEvents_badLine(t *testing.T) {
	evs := testGenerator(t).Events(0, 100)
	path := writeEvents(t, evs, map[int]string{40: `{"type":"bid","auction":oops}`})
	for _, par := range []int{1, 2} {
		p := operators.NewPipeline("read")
		operators.Collect(ReadEvents(p, path))
		p.SetParallelism(par)
		res := testkit.NewRunner(t).Run(p)
		if res.Err == nil || !errors.Is(res.Err, operators.ErrDecode) ||
			!strings.Contains(res.Err.Error(), path+" line 41") {
			t.Errorf("p%d: %v, want a decode error naming %s line 41", par, res, path)
		}
	}
}

func TestReadEvents_all(t *testing.T) {
	evs := testGenerator(t).Events(0, 500)
	path := writeEvents(t, evs, map[int]string{7: "", 300: "  "}) // blank lines are skipped
	p := operators.NewPipeline("read")
	out := operators.Collect(ReadEvents(p, path))
	p.SetParallelism(3)
	if res := testkit.NewRunner(t).Run(p); res.Err != nil {
		t.Fatal(res)
	}
	equalMultisets(t, encodeAll(t, out.Values()), encodeAll(t, evs))
}

// encodeAll returns the JSON of each event, comparable as strings.
func encodeAll(t testing.TB, evs []Event) []string {
	t.Helper()
	out := make([]string, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}
