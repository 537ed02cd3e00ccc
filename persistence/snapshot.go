package persistence

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
)

// KeyedSnapshot is the keyed state of one subtask at a checkpoint, by key
// group, so that it can be restored at another parallelism.
type KeyedSnapshot struct {
	// MaxParallelism is the number of key groups of the job.
	MaxParallelism int
	// Groups holds per key group the encoded entries of all states: state
	// name, key, value and TTL timestamp of each. Empty groups are absent.
	Groups map[int][]byte
}

// MarshalBinary encodes the snapshot in a Seal(KindKeyed, …) envelope:
//
//	uvarint MaxParallelism | uvarint number of groups |
//	per group, in increasing key group order:
//	uvarint key group | uvarint len | the group's entries
func (s *KeyedSnapshot) MarshalBinary() ([]byte, error) {
	if s.MaxParallelism <= 0 || s.MaxParallelism > math.MaxInt32 {
		return nil, fmt.Errorf("%w: KeyedSnapshot.MaxParallelism is %d, must be in [1, %d]",
			ErrConfig, s.MaxParallelism, math.MaxInt32)
	}
	size := 2 * binary.MaxVarintLen64
	for _, g := range s.Groups {
		size += 2*binary.MaxVarintLen64 + len(g)
	}
	p := make([]byte, 0, size)
	p = binary.AppendUvarint(p, uint64(s.MaxParallelism))
	p = binary.AppendUvarint(p, uint64(len(s.Groups)))
	for _, kg := range slices.Sorted(maps.Keys(s.Groups)) {
		if kg < 0 || kg >= s.MaxParallelism {
			return nil, fmt.Errorf("%w: KeyedSnapshot.Groups has key group %d, outside [0, %d)",
				ErrKeyGroup, kg, s.MaxParallelism)
		}
		p = binary.AppendUvarint(p, uint64(kg))
		p = appendBytes(p, s.Groups[kg])
	}
	return Seal(KindKeyed, p), nil
}

// UnmarshalKeyedSnapshot decodes and fully validates a snapshot written by
// KeyedSnapshot.MarshalBinary, entries included. The result does not
// alias b. The error wraps ErrCorrupt or ErrVersion and says what is wrong
// and where.
func UnmarshalKeyedSnapshot(b []byte) (*KeyedSnapshot, error) {
	p, err := unsealKind(b, KindKeyed)
	if err != nil {
		return nil, err
	}
	d := decoder{b: p, ctx: "keyed snapshot payload"}
	s := &KeyedSnapshot{MaxParallelism: d.int("max parallelism", 1, math.MaxInt32)}
	n := d.count("number of key groups", 2)
	s.Groups = make(map[int][]byte, n)
	prev := -1
	for range n {
		kg := d.int("key group", prev+1, s.MaxParallelism-1)
		data := d.bytes("key group")
		if d.err != nil {
			break
		}
		prev = kg
		if err := parseGroup("keyed snapshot", data, kg, nil, nil); err != nil {
			return nil, err
		}
		s.Groups[kg] = bytes.Clone(data)
	}
	d.done()
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}
