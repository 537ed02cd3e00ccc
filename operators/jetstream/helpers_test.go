package jetstream

import (
	"encoding/json"
	"testing"

	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
)

// event is the record of most tests: a key and its sequence number.
type event struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

// publishEvents stores count events on subject, numbered from 1, with
// the given key.
func publishEvents(t testing.TB, s *jstest.Server, subject, key string, count int) {
	t.Helper()
	payloads := make([][]byte, count)
	for i := range payloads {
		b, err := json.Marshal(event{Key: key, N: i + 1})
		if err != nil {
			t.Fatal(err)
		}
		payloads[i] = b
	}
	s.Publish(t, subject, payloads...)
}

// decodeAll decodes the JSON payloads of msgs.
func decodeAll[T any](t testing.TB, msgs []jstest.Msg) []T {
	t.Helper()
	out := make([]T, len(msgs))
	for i, m := range msgs {
		if err := json.Unmarshal(m.Data, &out[i]); err != nil {
			t.Fatalf("message %d (%q): %v", m.Sequence, m.Data, err)
		}
	}
	return out
}
