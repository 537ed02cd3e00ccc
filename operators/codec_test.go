package operators

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func encodeBatch(t testing.TB, c batchCodec, elems ...Element[string]) []byte {
	t.Helper()
	data, err := c.Encode(nil, &Batch[string]{Elems: elems})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return data
}

func TestBatchCodec_roundTrip(t *testing.T) {
	c := newStreamOps[string]().codec()
	want := []Element[string]{{"a", 1}, {"", NoTimestamp}, {"ünïcode \n \"q\"", -5}}
	got, err := c.Decode(encodeBatch(t, c, want...))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !slices.Equal(got.(*Batch[string]).Elems, want) {
		t.Fatalf("Decode = %v, want %v", got.(*Batch[string]).Elems, want)
	}
}

// A record's timestamp costs a byte on the wire when it is that of the
// record before it — NoTimestamp included, which as a plain varint
// costs ten — and a few bytes when it follows closely.
func TestBatchCodec_timestampsCompact(t *testing.T) {
	c := newStreamOps[string]().codec()
	cases := []struct {
		name  string
		ts    func(i int) int64
		perTS int // bytes per timestamp, but for the first
	}{
		{"no timestamps", func(int) int64 { return NoTimestamp }, 1},
		{"one timestamp", func(int) int64 { return 1_765_000_000_000 }, 1},
		{"a millisecond apart", func(i int) int64 { return 1_765_000_000_000 + int64(i) }, 1},
		{"a second apart, out of order", func(i int) int64 { return 1_765_000_000_000 + int64(i%7-3)*1000 }, 3},
	}
	for _, tc := range cases {
		var elems []Element[string]
		for i := range 100 {
			elems = append(elems, Element[string]{Value: "ab", Timestamp: tc.ts(i)})
		}
		data := encodeBatch(t, c, elems...)
		// count, then per record: timestamp, length 1, value "ab" in JSON 4
		if most := 1 + 10 + 5 + 99*(tc.perTS+5); len(data) > most {
			t.Errorf("%s: %d bytes, want at most %d", tc.name, len(data), most)
		}
		got, err := c.Decode(data)
		if err != nil || !slices.Equal(got.(*Batch[string]).Elems, elems) {
			t.Errorf("%s: Decode = %v, %v; want the batch back", tc.name, got, err)
		}
	}
}

func TestBatchCodec_Decode_malformed(t *testing.T) {
	c := newStreamOps[string]().codec()
	valid := encodeBatch(t, c, Element[string]{"ab", 7})
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"count above length", binary.AppendUvarint(nil, 1000)},
		{"missing element", binary.AppendUvarint(nil, 1)},
		{"truncated value", valid[:len(valid)-1]},
		{"length past end", append(binary.AppendVarint(binary.AppendUvarint(nil, 1), 0), 0x7f)},
		{"bad JSON", append(binary.AppendUvarint(binary.AppendVarint(binary.AppendUvarint(nil, 1), 0), 2), "ab"...)},
		{"trailing bytes", append(slices.Clone(valid), 0)},
		{"overlong varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for _, tc := range cases {
		if _, err := c.Decode(tc.data); !errors.Is(err, ErrDecode) {
			t.Errorf("%s: err = %v, want ErrDecode", tc.name, err)
		}
	}
}

// jsonString is what a string becomes after a JSON round trip: invalid
// UTF-8 turns into U+FFFD.
func jsonString(t testing.TB, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	return out
}

// FuzzBatchCodec checks that Decode never panics on any input, and that
// Encode then Decode gives back the batch.
func FuzzBatchCodec(f *testing.F) {
	c := newStreamOps[string]().codec()
	f.Add(encodeBatch(f, c, Element[string]{"a", 1}, Element[string]{"b", NoTimestamp}), "x", int64(0))
	f.Add([]byte{0}, "", int64(-1))
	f.Add([]byte{1, 0, 2, '"', '"'}, "\xff", int64(1)<<62)
	f.Fuzz(func(t *testing.T, data []byte, s string, ts int64) {
		if b, err := c.Decode(data); err != nil {
			if !errors.Is(err, ErrDecode) {
				t.Fatalf("Decode error %v does not wrap ErrDecode", err)
			}
		} else if again, err := c.Decode(encodeBatch(t, c, b.(*Batch[string]).Elems...)); err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		} else if !slices.Equal(again.(*Batch[string]).Elems, b.(*Batch[string]).Elems) {
			t.Fatalf("re-encoded batch changed: %v, want %v", again, b)
		}
		want := []Element[string]{{s, ts}, {"", NoTimestamp}, {s + s, -ts}}
		got, err := c.Decode(encodeBatch(t, c, want...))
		if err != nil {
			t.Fatalf("Decode(Encode): %v", err)
		}
		for i := range want {
			want[i].Value = jsonString(t, want[i].Value)
		}
		if !slices.Equal(got.(*Batch[string]).Elems, want) {
			t.Fatalf("Decode(Encode) = %v, want %v", got.(*Batch[string]).Elems, want)
		}
	})
}

// A runtime encodes the batches of a channel between processes with the
// edge's codec (a side output's edge with the side output's), decodes
// them into what the receiving chain consumes, and returns the sent ones
// to their pool.
func TestVertexEdge_EncodeDecodeBatch(t *testing.T) {
	p := NewPipeline("edge-codec")
	src := FromSlice(p, []int{1, 2, 3}).Parallelism(1)
	strs := WithCodec(Map(src, func(v int) string { return "v" + string(rune('0'+v)) }).Parallelism(1), prefixCodec{})
	Collect(strs.Rebalance()).Parallelism(2)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	edge := g.Vertices[1].Inputs[0]
	batch := &Batch[string]{Elems: []Element[string]{{"v1", 10}, {"v2", NoTimestamp}}}
	data, err := edge.EncodeBatch([]byte("keep:"), batch)
	if err != nil {
		t.Fatalf("EncodeBatch: %v", err)
	}
	if string(data[:5]) != "keep:" || !strings.Contains(string(data), "<v1>") {
		t.Fatalf("EncodeBatch = %q: want dst kept and the stream's codec used", data)
	}
	edge.ReleaseBatch(batch)
	got, err := edge.DecodeBatch(data[5:])
	if err != nil {
		t.Fatalf("DecodeBatch: %v", err)
	}
	if want := []Element[string]{{"v1", 10}, {"v2", NoTimestamp}}; !slices.Equal(got.(*Batch[string]).Elems, want) {
		t.Fatalf("DecodeBatch = %v, want %v", got.(*Batch[string]).Elems, want)
	}
	if _, err := edge.DecodeBatch([]byte{5, 0}); !errors.Is(err, ErrDecode) {
		t.Fatalf("DecodeBatch of garbage: %v, want ErrDecode", err)
	}
}

// prefixCodec writes strings as <s>.
type prefixCodec struct{}

func (prefixCodec) Append(dst []byte, v string) ([]byte, error) {
	return append(dst, "<"+v+">"...), nil
}
func (prefixCodec) Decode(b []byte) (string, error) {
	if len(b) < 2 || b[0] != '<' || b[len(b)-1] != '>' {
		return "", errors.New("not <…>")
	}
	return string(b[1 : len(b)-1]), nil
}

// pairCodec encodes a pair of int64 as 16 bytes.
type pairCodec struct{}

func (pairCodec) Append(dst []byte, v [2]int64) ([]byte, error) {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(v[0]))
	return binary.LittleEndian.AppendUint64(dst, uint64(v[1])), nil
}

func (pairCodec) Decode(b []byte) ([2]int64, error) {
	if len(b) != 16 {
		return [2]int64{}, errors.New("want 16 bytes")
	}
	return [2]int64{int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:]))}, nil
}

// BenchmarkBatchCodec encodes and decodes batches of 1024 records of 16
// bytes without timestamps, as a remote channel does with each batch:
//
//	go test -run '^$' -bench BatchCodec ./operators/
func BenchmarkBatchCodec(b *testing.B) {
	st := newStreamOps[[2]int64]()
	st.codec_ = pairCodec{}
	c := st.codec()
	batch := &Batch[[2]int64]{}
	for i := range 1024 {
		batch.Elems = append(batch.Elems, Element[[2]int64]{Value: [2]int64{int64(i % 1024), int64(i)}, Timestamp: NoTimestamp})
	}
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = c.Encode(buf[:0], batch); err != nil {
			b.Fatal(err)
		}
		out, err := c.Decode(buf)
		if err != nil {
			b.Fatal(err)
		}
		st.release(out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Elems)), "ns/rec")
	b.ReportMetric(float64(len(buf))/float64(len(batch.Elems)), "B/rec")
}
