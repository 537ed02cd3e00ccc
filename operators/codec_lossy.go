package operators

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
)

// JSON is the default codec of state and keys, and encoding/json
// silently drops what it cannot see: a struct of unexported fields
// encodes as {} and decodes as its zero value, without an error. State
// of such a type works until the first restore, which resets it. Flink
// serialises such types with Kryo, which writes private fields; Go can
// set unexported fields only through unsafe, so troupe refuses the type
// where JSON would be its codec instead — at Build where the type is
// known then (keys, window accumulators), else when the state is
// registered — and asks for a codec.

// jsonLossCache memoises jsonLoss by type: the state getters run per
// record.
var jsonLossCache sync.Map // reflect.Type → string

// jsonLoss returns what a JSON round trip of a value of type t would lose
// or refuse ("" for nothing): an unexported field, a field tagged
// json:"-", or a kind JSON cannot encode. A type with its own JSON or
// text encoding (both directions) is trusted. Interface types are taken
// as they are: their dynamic values are the user's to choose.
func jsonLoss(t reflect.Type) string {
	if why, ok := jsonLossCache.Load(t); ok {
		return why.(string)
	}
	why := jsonLossOf(t, make(map[reflect.Type]bool))
	jsonLossCache.Store(t, why)
	return why
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonUnencodable = map[reflect.Kind]bool{reflect.Chan: true, reflect.Func: true,
		reflect.UnsafePointer: true, reflect.Complex64: true, reflect.Complex128: true}
)

// roundTripsItself reports whether t has its own JSON or text encoding,
// both ways.
func roundTripsItself(t reflect.Type) bool {
	implements := func(i reflect.Type) bool { return t.Implements(i) || reflect.PointerTo(t).Implements(i) }
	return implements(jsonMarshaler) && reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		implements(textMarshaler) && reflect.PointerTo(t).Implements(textUnmarshaler)
}

func jsonLossOf(t reflect.Type, seen map[reflect.Type]bool) string {
	if seen[t] || roundTripsItself(t) {
		return ""
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return jsonLossOf(t.Elem(), seen)
	case reflect.Map:
		if why := jsonLossOf(t.Key(), seen); why != "" {
			return why
		}
		return jsonLossOf(t.Elem(), seen)
	case reflect.Struct:
		return structLoss(t, seen)
	}
	if jsonUnencodable[t.Kind()] {
		return fmt.Sprintf("a %v, which JSON cannot encode", t)
	}
	return ""
}

// structLoss checks t's fields. JSON promotes the exported fields of an
// embedded struct even if its type is unexported, so those are looked
// into; any other unexported field is lost.
func structLoss(t reflect.Type, seen map[reflect.Type]bool) string {
	for i := range t.NumField() {
		f := t.Field(i)
		embeddedStruct := f.Anonymous && (f.Type.Kind() == reflect.Struct ||
			f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct)
		switch {
		case f.Tag.Get("json") == "-":
			return fmt.Sprintf("field %s of %v, tagged json:\"-\"", f.Name, t)
		case !f.IsExported() && !embeddedStruct:
			return fmt.Sprintf("unexported field %s of %v", f.Name, t)
		}
		if why := jsonLossOf(f.Type, seen); why != "" {
			return why
		}
	}
	return ""
}

// lossyJSONError is the error for a type JSON would not round-trip,
// where JSON is its codec; remedy says what to do instead.
func lossyJSONError(typ reflect.Type, why, remedy string) error {
	return fmt.Errorf("%w: type %v: JSON, its codec here, would lose %s at every restore; %s",
		ErrLossyJSON, typ, why, remedy)
}

// checkLossless reports, as an error, that JSON would not round-trip V
// (nil if it would); remedy says what to do instead.
func checkLossless[V any](remedy string) error {
	t := reflect.TypeFor[V]()
	if why := jsonLoss(t); why != "" {
		return lossyJSONError(t, why, remedy)
	}
	return nil
}

// checkedCodec returns c, or JSON when c is nil and JSON round-trips V;
// field names where the codec is given, for the error.
func checkedCodec[V any](c Codec[V], field string) (Codec[V], error) {
	if c != nil {
		return c, nil
	}
	if err := checkLossless[V]("export what it lacks, or give " + field); err != nil {
		return nil, err
	}
	return JSONCodec[V]{}, nil
}

// recordsInState has Build check that the records of s, which node n
// keeps in state encoded with s's codec, survive it: a stream on the
// default JSON codec whose type JSON would not round-trip needs a codec
// (WithCodec). what names the records for the error.
func recordsInState[T any](n *node, s Stream[T], what string) {
	n.checks = append(n.checks, func() error {
		if !isJSON(CodecOf(s)) {
			return nil
		}
		if err := checkLossless[T]("give the stream a codec (WithCodec)"); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}
