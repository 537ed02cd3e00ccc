package operators

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/troupe-dev/troupe/operators/window"
)

// upper is a codec that writes strings bare (not JSON), to tell it from
// JSON.
type upper struct{}

func (upper) Append(dst []byte, s string) ([]byte, error) { return append(dst, s...), nil }
func (upper) Decode(b []byte) (string, error)             { return string(b), nil }

// On the default codecs the join's buffers stay one JSON value, as
// before (earlier snapshots restore); with a stream codec they round-trip
// through it, and malformed input fails.
func TestJoinBuffersOf(t *testing.T) {
	bufs := joinBuffers[string, int]{Left: map[int64][]string{5: {"a", "b"}, -3: {""}}, Right: map[int64][]int{7: {1}}}
	if _, ok := joinBuffersOf[string, int](JSONCodec[string]{}, JSONCodec[int]{}).(JSONCodec[joinBuffers[string, int]]); !ok {
		t.Fatal("default codecs: want the JSON encoding of the buffers")
	}
	c := joinBuffersOf[string, int](upper{}, JSONCodec[int]{})
	b, err := c.Append(nil, bufs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(b)
	if err != nil || !maps.EqualFunc(got.Left, bufs.Left, slices.Equal) || !maps.EqualFunc(got.Right, bufs.Right, slices.Equal) {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, bufs)
	}
	for name, bad := range map[string][]byte{"empty": nil, "version": append([]byte{9}, b[1:]...),
		"truncated": b[:len(b)-1], "trailing": append(slices.Clone(b), 0)} {
		if _, err := c.Decode(bad); !errors.Is(err, ErrDecode) {
			t.Errorf("%s: Decode = %v, want ErrDecode", name, err)
		}
	}
}

// Window contents of records: JSON on the default codec (as before),
// else the records' codec, with timestamps for evicting windows.
func TestWindowContentsCodecs(t *testing.T) {
	if _, ok := listContents[string](JSONCodec[string]{}).(JSONCodec[[]string]); !ok {
		t.Error("listContents of the default codec: want JSON")
	}
	if _, ok := timestampedContents[string](JSONCodec[string]{}).(JSONCodec[[]window.TimestampedValue[string]]); !ok {
		t.Error("timestampedContents of the default codec: want JSON")
	}
	vs := []window.TimestampedValue[string]{{Value: "a", Timestamp: -1}, {Value: "", Timestamp: 1 << 40}}
	c := timestampedContents[string](upper{})
	b, err := c.Append(nil, vs)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Decode(b); err != nil || !slices.Equal(got, vs) {
		t.Fatalf("round trip: %v, %v; want %v", got, err, vs)
	}
	if _, err := (timestampedCodec[string]{elem: upper{}}).Decode(nil); !errors.Is(err, ErrDecode) {
		t.Errorf("Decode(nil) = %v, want ErrDecode", err)
	}
}
