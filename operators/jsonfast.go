package operators

import "strconv"

// The fast paths of JSONCodec: for values of the types below (exactly
// those types, not types defined on them, which may marshal themselves
// otherwise) the bytes are those encoding/json writes, and reading takes
// exactly what it would accept in canonical form; anything else goes to
// encoding/json.

// appendJSONFast appends v's JSON encoding if v is an integer, a bool
// or a string of printable ASCII that JSON writes as is.
func appendJSONFast[T any](dst []byte, v T) ([]byte, bool) {
	switch x := any(v).(type) {
	case int64:
		return strconv.AppendInt(dst, x, 10), true
	case int:
		return strconv.AppendInt(dst, int64(x), 10), true
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), true
	case uint64:
		return strconv.AppendUint(dst, x, 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), true
	case bool:
		return strconv.AppendBool(dst, x), true
	case string:
		if !plainJSON(x) {
			return dst, false
		}
		dst = append(dst, '"')
		dst = append(dst, x...)
		return append(dst, '"'), true
	}
	return dst, false
}

// plainJSON reports whether encoding/json writes s between quotes as it
// is: printable ASCII other than the quote, the backslash and the
// characters it escapes for HTML (<, >, &).
func plainJSON[S string | []byte](s S) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// decodeJSONFast decodes data if T is one of the fast types and data is
// that type's canonical encoding (no spaces, no leading zeros or plus
// sign, a string without escapes); ok false leaves it to encoding/json,
// which also reports errors.
func decodeJSONFast[T any](data []byte) (v T, ok bool) {
	var x any
	switch any(v).(type) {
	case int64, int, int32:
		n, ok := canonicalInt(data)
		if !ok {
			return v, false
		}
		x, ok = fitInt(any(v), n)
		if !ok {
			return v, false
		}
	case uint64, uint32:
		if len(data) == 0 || data[0] == '-' {
			return v, false
		}
		n, ok := canonicalUint(data)
		if !ok {
			return v, false
		}
		if _, small := any(v).(uint32); small {
			if n > 1<<32-1 {
				return v, false
			}
			x = uint32(n)
		} else {
			x = n
		}
	case bool:
		switch string(data) {
		case "true":
			x = true
		case "false":
			x = false
		default:
			return v, false
		}
	case string:
		if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' || !plainJSON(data[1:len(data)-1]) {
			return v, false
		}
		x = string(data[1 : len(data)-1])
	default:
		return v, false
	}
	return x.(T), true
}

// canonicalInt parses -?(0|[1-9][0-9]*) into an int64.
func canonicalInt(data []byte) (int64, bool) {
	digits := data
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if !canonicalDigits(digits) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(data), 10, 64)
	return n, err == nil
}

// canonicalUint parses 0|[1-9][0-9]* into a uint64.
func canonicalUint(data []byte) (uint64, bool) {
	if !canonicalDigits(data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(data), 10, 64)
	return n, err == nil
}

func canonicalDigits(d []byte) bool {
	if len(d) == 0 || (d[0] == '0' && len(d) > 1) {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// fitInt converts n to the signed type of like, if it fits.
func fitInt(like any, n int64) (any, bool) {
	switch like.(type) {
	case int32:
		if n < -1<<31 || n > 1<<31-1 {
			return nil, false
		}
		return int32(n), true
	case int:
		if int64(int(n)) != n {
			return nil, false
		}
		return int(n), true
	}
	return n, true
}
