package persistence

// Codec turns values of one type into bytes and back. It has the same
// method set as operators.Codec, so a stream's codec serves for its state.
//
// Append must not retain dst. Decode must return an error, never panic,
// on bytes it cannot decode: restored snapshots may be corrupt or written
// by another codec.
type Codec[T any] interface {
	Append(dst []byte, v T) ([]byte, error)
	Decode(data []byte) (T, error)
}
