package enrich

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestRecord_UnmarshalJSON(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{`{"id": 7, "a": [1, 2], "b": null}`, true},
		{`{"id": -9223372036854775808}`, true},
		{`{"id": 9223372036854775808}`, false}, // overflows int64
		{`{"id": 1.5}`, false},
		{`{"id": 1e3}`, false},
		{`{"id": "7"}`, false},
		{`{"id": null}`, false},
		{`{"a": 1}`, false},
		{`[1]`, false},
		{`null`, false},
		{`7`, false},
	} {
		var r Record
		err := json.Unmarshal([]byte(tc.line), &r)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrRecord)) {
			t.Errorf("%s: error %v, want ok %v (else ErrRecord)", tc.line, err, tc.ok)
		}
	}
}

func TestRecord_MarshalJSON_roundTrip(t *testing.T) {
	var r Record
	if err := json.Unmarshal([]byte(`{"z": {"k": [1, "x"]}, "id": 42, "a": "s"}`), &r); err != nil {
		t.Fatal(err)
	}
	r.Fields["id"] = json.RawMessage(`"ignored"`)
	b, err := json.Marshal(r)
	if got, want := string(b), `{"id":42,"a":"s","z":{"k":[1,"x"]}}`; err != nil || got != want {
		t.Fatalf("got %s (%v), want %s", got, err, want)
	}
}

func TestRecord_merge_replyWinsButIDStays(t *testing.T) {
	in := Record{ID: 1, Fields: map[string]json.RawMessage{"a": json.RawMessage(`1`), "b": json.RawMessage(`2`)}}
	got := in.merge(map[string]json.RawMessage{"id": json.RawMessage(`99`), "b": json.RawMessage(`3`), "c": json.RawMessage(`4`)})
	b, _ := json.Marshal(got)
	if want := `{"id":1,"a":1,"b":3,"c":4}`; string(b) != want {
		t.Errorf("merged %s, want %s", b, want)
	}
	if b, _ := json.Marshal(in); string(b) != `{"id":1,"a":1,"b":2}` {
		t.Errorf("input changed to %s", b)
	}
}
