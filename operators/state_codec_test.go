package operators

import (
	"errors"
	"testing"

	"github.com/troupe-dev/troupe/persistence"
)

func TestSubtaskState_MarshalBinary_roundTrip(t *testing.T) {
	st := SubtaskState{
		"count":  {Keyed: &persistence.KeyedSnapshot{MaxParallelism: 8, Groups: map[int][]byte{}}},
		"source": {Operator: &persistence.OperatorSnapshot{Lists: map[string][][]byte{"offsets": {[]byte("12")}}}},
	}
	b, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalSubtaskState(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["count"].Keyed.MaxParallelism != 8 || string(got["source"].Operator.Lists["offsets"][0]) != "12" {
		t.Fatalf("round trip gave %+v", got)
	}
}

func TestUnmarshalSubtaskState_errors(t *testing.T) {
	good, err := SubtaskState{"a": {Operator: &persistence.OperatorSnapshot{}}}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     []byte("XXXX\x01\x00"),
		"version":   []byte("TRST\x09\x00"),
		"truncated": good[:len(good)-3],
		"trailing":  append(append([]byte(nil), good...), 0),
	} {
		if _, err := UnmarshalSubtaskState(b); !errors.Is(err, ErrRestore) {
			t.Errorf("%s: error %v, want ErrRestore", name, err)
		}
	}
}

func FuzzUnmarshalSubtaskState(f *testing.F) {
	good, _ := SubtaskState{"a": {Operator: &persistence.OperatorSnapshot{Lists: map[string][][]byte{"x": {[]byte("1")}}}}}.MarshalBinary()
	f.Add(good)
	f.Add([]byte("TRST\x01\x05"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := UnmarshalSubtaskState(b)
		if err != nil {
			return
		}
		if _, err := st.MarshalBinary(); err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
	})
}
