package jetstream

import "github.com/troupe-dev/troupe/operators"

// TextCodec passes payloads as strings: for streams of text, such as
// lines, whose messages are not JSON.
type TextCodec struct{}

var _ operators.Codec[string] = TextCodec{}

// Append appends s's bytes.
func (TextCodec) Append(dst []byte, s string) ([]byte, error) { return append(dst, s...), nil }

// Decode returns the payload as a string.
func (TextCodec) Decode(b []byte) (string, error) { return string(b), nil }
