package operators

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/troupe-dev/troupe/operators/window"
)

// FuzzJSONCodec_fastPaths checks the fast paths against encoding/json:
// the same bytes for every value of the fast types, and for any input
// the same value, or an error where encoding/json has one.
func FuzzJSONCodec_fastPaths(f *testing.F) {
	for _, s := range []string{"0", "-1", "007", "+5", " 5", "1e3", "9223372036854775808", "4294967296", "-0",
		`"a"`, `"a<b"`, `"\u0041"`, `"é"`, "true", "false", "null", `""`, "-", "1.0"} {
		f.Add([]byte(s), int64(len(s)*7919-3), s)
	}
	f.Fuzz(func(t *testing.T, data []byte, n int64, s string) {
		checkFastAppend(t, n)
		checkFastAppend(t, int32(n))
		checkFastAppend(t, int(n))
		checkFastAppend(t, uint64(n))
		checkFastAppend(t, uint32(n))
		checkFastAppend(t, n%2 == 0)
		checkFastAppend(t, s)
		checkFastDecode[int64](t, data)
		checkFastDecode[int32](t, data)
		checkFastDecode[int](t, data)
		checkFastDecode[uint64](t, data)
		checkFastDecode[uint32](t, data)
		checkFastDecode[bool](t, data)
		checkFastDecode[string](t, data)
	})
}

func checkFastAppend[T any](t *testing.T, v T) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, err := JSONCodec[T]{}.Append([]byte("x"), v)
	if (err != nil) != (werr != nil) || (err == nil && !bytes.Equal(got, append([]byte("x"), want...))) {
		t.Fatalf("Append(%#v) = %q, %v; encoding/json: %q, %v", v, got, err, want, werr)
	}
}

func checkFastDecode[T comparable](t *testing.T, data []byte) {
	t.Helper()
	var want T
	werr := json.Unmarshal(data, &want)
	got, err := JSONCodec[T]{}.Decode(data)
	if (err != nil) != (werr != nil) || (err == nil && got != want) {
		t.Fatalf("Decode[%T](%q) = %#v, %v; encoding/json: %#v, %v", want, data, got, err, want, werr)
	}
}

// Timers keep their encoding in snapshots: "domain:time", then
// ":namespace" when it has one.
func TestTimerKeyCodec_encoding(t *testing.T) {
	win := timerKeyCodec[window.Window]{ns: windowCodec{}}
	got, err := win.Append(nil, timerKey[window.Window]{Domain: EventTime, Time: 12, NS: window.Window{Start: 1, End: 2}})
	if err != nil || string(got) != "0:12:1,2" {
		t.Fatalf("window timer encodes as %q, %v; want 0:12:1,2", got, err)
	}
	none := timerKeyCodec[struct{}]{ns: emptyCodec{}}
	got, err = none.Append(nil, timerKey[struct{}]{Domain: ProcessingTime, Time: -5})
	if err != nil || string(got) != "1:-5" {
		t.Fatalf("timer encodes as %q, %v; want 1:-5", got, err)
	}
	back, err := none.Decode(got)
	if err != nil || back != (timerKey[struct{}]{Domain: ProcessingTime, Time: -5}) {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}
