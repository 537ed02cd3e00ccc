package persistence

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

func TestSeal_Unseal_roundTrip(t *testing.T) {
	for _, kind := range []Kind{KindKeyed, KindOperator, KindMetadata} {
		for _, n := range []int{0, 1, 127, 128, 1 << 16} {
			payload := bytes.Repeat([]byte{0xa5}, n)
			gotKind, got, err := Unseal(Seal(kind, payload))
			if err != nil {
				t.Fatalf("%s, %d bytes: %v", kind, n, err)
			}
			if gotKind != kind || !bytes.Equal(got, payload) {
				t.Errorf("%s, %d bytes: got %s and %d bytes", kind, n, gotKind, len(got))
			}
		}
	}
}

// reseal recomputes the checksum of a sealed blob after an edit.
func reseal(b []byte) []byte {
	end := len(b) - checksumLen
	binary.BigEndian.PutUint32(b[end:], crc32.Checksum(b[:end], castagnoli))
	return b
}

func TestUnseal_errors(t *testing.T) {
	good := Seal(KindKeyed, []byte("payload"))
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name     string
		in       []byte
		sentinel error
		parts    []string
	}{
		{"empty", nil, ErrCorrupt, []string{"truncated header"}},
		{"badMagic", []byte("TRPX\x01\x01\x00"), ErrCorrupt, []string{"bad magic", "offset 0"}},
		{"badMagicShort", []byte("XY"), ErrCorrupt, []string{"bad magic"}},
		{"truncatedHeader", []byte("TRPS\x01"), ErrCorrupt, []string{"truncated header"}},
		{"version", edit(func(b []byte) []byte { b[4] = 3; return b }), ErrVersion,
			[]string{"found version 3", "supports versions 1 and 2"}},
		{"truncatedLength", []byte("TRPS\x01\x01\x80"), ErrCorrupt, []string{"payload length", "offset 6"}},
		{"truncated", good[:len(good)-1], ErrCorrupt, []string{"length mismatch", "says 7", "found 6"}},
		{"tooLong", append(bytes.Clone(good), 0), ErrCorrupt, []string{"length mismatch", "found 8"}},
		{"noChecksum", []byte("TRPS\x01\x01\x00"), ErrCorrupt, []string{"truncated"}},
		{"checksum", edit(func(b []byte) []byte { b[8] ^= 1; return b }), ErrCorrupt,
			[]string{"checksum mismatch", "offset 14"}},
		{"unknownKind", edit(func(b []byte) []byte { b[5] = 9; return reseal(b) }), ErrCorrupt,
			[]string{"unknown kind 9", "offset 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Unseal(tt.in)
			wantErr(t, err, tt.sentinel, tt.parts...)
		})
	}
}

func TestUnseal_aliasesButCannotGrowIntoChecksum(t *testing.T) {
	b := Seal(KindOperator, []byte("abc"))
	_, p, err := Unseal(b)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(p, 'x')
	if _, _, err := Unseal(b); err != nil {
		t.Fatalf("appending to the payload changed the blob: %v", err)
	}
}

func FuzzUnseal(f *testing.F) {
	f.Add(Seal(KindKeyed, nil), byte(1))
	f.Add(Seal(KindOperator, []byte("hello")), byte(2))
	f.Add([]byte("TRPS\x01\x03\x80\x01"), byte(3))
	f.Add([]byte{}, byte(0))
	f.Fuzz(func(t *testing.T, b []byte, k byte) {
		if kind, p, err := Unseal(b); err == nil {
			kind2, p2, err := Unseal(Seal(kind, p))
			if err != nil || kind2 != kind || !bytes.Equal(p2, p) {
				t.Fatalf("re-sealed blob does not round-trip: %v", err)
			}
		}
		kind := Kind(k%3 + 1)
		kind2, p, err := Unseal(Seal(kind, b))
		if err != nil || kind2 != kind || !bytes.Equal(p, b) {
			t.Fatalf("Seal(%s, %x) does not round-trip: %v", kind, b, err)
		}
	})
}
