package cluster

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzNodeMeta_UnmarshalBinary feeds arbitrary bytes to the decoder, as a
// peer (or anything that reaches the gossip port) could. The decoder must
// not panic; it must return one of our errors, or metadata that is valid,
// fits memberlist's limit and encodes back to the very same bytes (the
// encoding is canonical). The seed corpus is in
// testdata/fuzz/FuzzNodeMeta_UnmarshalBinary, plus the encodings added
// here. Run: go test ./cluster/ -run '^$' -fuzz FuzzNodeMeta_UnmarshalBinary
func FuzzNodeMeta_UnmarshalBinary(f *testing.F) {
	leaving := fullMeta()
	leaving.Leaving = true
	for _, m := range []NodeMeta{minimalMeta(), fullMeta(), leaving} {
		raw, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Add([]byte("t\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m NodeMeta
		err := m.UnmarshalBinary(data)
		if err != nil {
			if !errors.Is(err, ErrMeta) && !errors.Is(err, ErrMetaVersion) && !errors.Is(err, ErrMetaTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded invalid metadata: %v", err)
		}
		raw, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded metadata does not encode: %v", err)
		}
		if !bytes.Equal(raw, data) {
			t.Fatalf("not canonical:\n in %x\nout %x", data, raw)
		}
	})
}
