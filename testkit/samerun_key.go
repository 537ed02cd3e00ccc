package testkit

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// valueKey returns a key of v's whole value: two values have the same
// key when reflect.DeepEqual holds for them — every field, exported or
// not, pointers followed — except that a nil slice or map equals an
// empty one, NaN equals NaN and -0 equals 0 (a record is not lost or
// duplicated for those). It is what CheckSameAsCleanRun counts records
// by, where a JSON encoding would make every struct of unexported fields
// equal ({}).
func valueKey(v any) string {
	var k keyWriter
	k.value(reflect.ValueOf(v))
	return k.b.String()
}

// keyWriter writes the key of a value; path holds the pointers being
// written, so that a cyclic value ends.
type keyWriter struct {
	b    strings.Builder
	path []uintptr
}

func (k *keyWriter) value(v reflect.Value) {
	if !v.IsValid() {
		k.b.WriteString("nil")
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		k.pointer(v)
	case reflect.Interface:
		if v.IsNil() {
			k.b.WriteString("nil")
			return
		}
		k.b.WriteString(v.Elem().Type().String()) // the dynamic type tells values of two types apart
		k.b.WriteByte('(')
		k.value(v.Elem())
		k.b.WriteByte(')')
	case reflect.Struct:
		k.structure(v)
	case reflect.Slice, reflect.Array:
		k.b.WriteByte('[')
		for i := range v.Len() {
			k.value(v.Index(i))
			k.b.WriteByte(',')
		}
		k.b.WriteByte(']')
	case reflect.Map:
		k.mapping(v)
	default:
		k.scalar(v)
	}
}

func (k *keyWriter) pointer(v reflect.Value) {
	if v.IsNil() {
		k.b.WriteString("nil")
		return
	}
	p := v.Pointer()
	if slices.Contains(k.path, p) {
		k.b.WriteString("<cycle>")
		return
	}
	k.path = append(k.path, p)
	k.b.WriteByte('&')
	k.value(v.Elem())
	k.path = k.path[:len(k.path)-1]
}

func (k *keyWriter) structure(v reflect.Value) {
	t := v.Type()
	k.b.WriteByte('{')
	for i := range v.NumField() {
		k.b.WriteString(t.Field(i).Name)
		k.b.WriteByte(':')
		k.value(v.Field(i))
		k.b.WriteByte(' ')
	}
	k.b.WriteByte('}')
}

// mapping writes a map's entries in the order of their keys' keys.
func (k *keyWriter) mapping(v reflect.Value) {
	entries := make([]string, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		var e keyWriter
		e.path = k.path
		e.value(it.Key())
		e.b.WriteByte(':')
		e.value(it.Value())
		entries = append(entries, e.b.String())
	}
	slices.Sort(entries)
	k.b.WriteString("map[")
	k.b.WriteString(strings.Join(entries, ","))
	k.b.WriteByte(']')
}

// scalar writes a value of a basic kind, quoted if a string so that no
// string reads as another value's key. Reflection reads unexported
// fields by kind, where Interface would panic.
func (k *keyWriter) scalar(v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		k.b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		k.b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		k.b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		k.float(v.Float())
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		k.float(real(c))
		k.b.WriteByte('+')
		k.float(imag(c))
		k.b.WriteByte('i')
	case reflect.String:
		k.b.WriteString(strconv.Quote(v.String()))
	default: // func, chan, unsafe pointer: equal if the same
		fmt.Fprintf(&k.b, "%s@%#x", v.Kind(), v.Pointer())
	}
}

func (k *keyWriter) float(f float64) {
	if f == 0 {
		f = 0 // -0 is 0
	}
	if math.IsNaN(f) {
		k.b.WriteString("NaN")
		return
	}
	k.b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
}
