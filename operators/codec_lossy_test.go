package operators

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

type (
	exported    struct{ A, B int }
	unexported  struct{ a int }
	inner       struct{ X int }
	embedsInner struct{ inner } // JSON promotes X
	skipped     struct {
		A int
		B int `json:"-"`
	}
	ownJSON       struct{ a int }
	marshalOnly   struct{ a int }
	recursive     struct{ Next *recursive }
	nestedLossy   struct{ M map[string][]*unexported }
	withInterface struct{ V any }
	withChan      struct{ C chan int }
)

func (o ownJSON) MarshalJSON() ([]byte, error) { return json.Marshal(o.a) }
func (o *ownJSON) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, &o.a)
}
func (m marshalOnly) MarshalJSON() ([]byte, error) { return json.Marshal(m.a) }

// jsonLoss finds what a JSON round trip of a type would lose, anywhere
// in it, and trusts types that encode themselves both ways.
func TestJSONLoss(t *testing.T) {
	for _, tt := range []struct {
		typ  reflect.Type
		want string // in the reason; "" for none
	}{
		{reflect.TypeFor[int](), ""},
		{reflect.TypeFor[exported](), ""},
		{reflect.TypeFor[embedsInner](), ""},
		{reflect.TypeFor[time.Time](), ""},
		{reflect.TypeFor[ownJSON](), ""},
		{reflect.TypeFor[recursive](), ""},
		{reflect.TypeFor[withInterface](), ""},
		{reflect.TypeFor[map[string][]exported](), ""},
		{reflect.TypeFor[unexported](), "unexported field a of operators.unexported"},
		{reflect.TypeFor[*unexported](), "unexported field a"},
		{reflect.TypeFor[[]unexported](), "unexported field a"},
		{reflect.TypeFor[nestedLossy](), "unexported field a of operators.unexported"},
		{reflect.TypeFor[skipped](), `field B of operators.skipped, tagged json:"-"`},
		{reflect.TypeFor[marshalOnly](), "unexported field a"}, // no UnmarshalJSON: decoding loses a
		{reflect.TypeFor[withChan](), "chan int, which JSON cannot encode"},
		{reflect.TypeFor[complex128](), "complex128"},
	} {
		got := jsonLoss(tt.typ)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("jsonLoss(%v) = %q, want %q", tt.typ, got, tt.want)
		}
	}
}

// checkedCodec keeps a codec given, defaults to JSON for a type JSON
// round-trips, and refuses the default for one it does not.
func TestCheckedCodec(t *testing.T) {
	if c, err := checkedCodec[unexported](nil, "ValueDescriptor.Codec"); c != nil || !errors.Is(err, ErrLossyJSON) ||
		!strings.Contains(err.Error(), "give ValueDescriptor.Codec") {
		t.Errorf("checkedCodec(nil) for unexported = %v, %v; want ErrLossyJSON saying which codec to give", c, err)
	}
	given := Codec[unexported](JSONCodec[unexported]{})
	if c, err := checkedCodec(given, "x"); err != nil || c != given {
		t.Errorf("checkedCodec(given) = %v, %v; want the codec given", c, err)
	}
	if c, err := checkedCodec[exported](nil, "x"); err != nil || c != Codec[exported](JSONCodec[exported]{}) {
		t.Errorf("checkedCodec(nil) for exported = %v, %v; want JSON", c, err)
	}
}

// A list codec round-trips a slice through its elements' codec and
// rejects malformed input.
func TestListCodec(t *testing.T) {
	c := listCodec[string]{elem: JSONCodec[string]{}}
	for _, vs := range [][]string{{}, {"a"}, {"a", "", "c,d"}} {
		b, err := c.Append([]byte("prefix"), vs)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode(b[len("prefix"):])
		if err != nil || !slices.Equal(got, vs) {
			t.Errorf("round trip of %q: %q, %v", vs, got, err)
		}
	}
	good, _ := c.Append(nil, []string{"a", "b"})
	for name, b := range map[string][]byte{"empty": nil, "truncated": good[:len(good)-1],
		"trailing": append(slices.Clone(good), 0), "count": {0xff}} {
		if _, err := c.Decode(b); !errors.Is(err, ErrDecode) {
			t.Errorf("%s: Decode = %v, want ErrDecode", name, err)
		}
	}
}
