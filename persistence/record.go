package persistence

import (
	"encoding/binary"
	"fmt"
)

// stateKind is the kind of a keyed state, as written in snapshots.
type stateKind byte

const (
	kindValue stateKind = iota + 1
	kindList
	kindMap
	kindReducing
	kindAggregating
)

func (k stateKind) String() string {
	switch k {
	case kindValue:
		return "value"
	case kindList:
		return "list"
	case kindMap:
		return "map"
	case kindReducing:
		return "reducing"
	case kindAggregating:
		return "aggregating"
	}
	return fmt.Sprintf("stateKind(%d)", byte(k))
}

// flagTS marks a record that carries a TTL timestamp.
const flagTS = 1

// record is one entry of one keyed state in a key group's snapshot bytes:
//
//	uvarint len | state name | kind (1 byte) | flags (1 byte) |
//	uvarint len | key | uvarint len | user key | uvarint len | value |
//	varint TTL timestamp (Unix ns), present if flags&flagTS
//
// A value, reducing or aggregating state writes one record per key, a list
// state one per element (in order), a map state one per user key. Only map
// records have a user key. A key group's bytes are its records, one after
// the other. Byte fields of parsed records alias the parsed bytes.
type record struct {
	name  string
	kind  stateKind
	key   []byte
	ukey  []byte
	value []byte
	ts    int64
	hasTS bool
	kg    int // key group, not encoded: it is where the record is stored
	// dropped marks a pending record removed by DropRestored (heap
	// backend); not encoded.
	dropped bool
}

func appendRecord(dst []byte, r *record) []byte {
	dst = appendBytes(dst, []byte(r.name))
	var flags byte
	if r.hasTS {
		flags = flagTS
	}
	dst = append(dst, byte(r.kind), flags)
	dst = appendBytes(dst, r.key)
	dst = appendBytes(dst, r.ukey)
	dst = appendBytes(dst, r.value)
	if r.hasTS {
		dst = binary.AppendVarint(dst, r.ts)
	}
	return dst
}

// parseGroup parses the records of key group kg, calling fn for each
// unless fn is nil. names interns state names across calls; nil is fine.
// where says where data comes from, for errors.
func parseGroup(where string, data []byte, kg int, names map[string]string, fn func(record) error) error {
	d := decoder{b: data, ctx: fmt.Sprintf("%s, entries of key group %d", where, kg)}
	for d.more() {
		r := parseRecord(&d, names)
		if d.err != nil {
			break
		}
		r.kg = kg
		if fn != nil {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return d.err
}

func parseRecord(d *decoder, names map[string]string) record {
	var r record
	name := d.bytes("state name")
	if d.err == nil && len(name) == 0 {
		d.fail("empty state name")
	}
	r.name = intern(names, name)
	r.kind = stateKind(d.byte("state kind"))
	if d.err == nil && (r.kind < kindValue || r.kind > kindAggregating) {
		d.off--
		d.fail("unknown state kind %d", byte(r.kind))
	}
	flags := d.byte("flags")
	if d.err == nil && flags&^flagTS != 0 {
		d.off--
		d.fail("unknown flags %#x", flags)
	}
	r.key = d.bytes("key")
	r.ukey = d.bytes("user key")
	if d.err == nil && r.kind != kindMap && len(r.ukey) != 0 {
		d.fail("user key in a %s state record", r.kind)
	}
	r.value = d.bytes("value")
	if r.hasTS = flags&flagTS != 0; r.hasTS {
		r.ts = d.varint("TTL timestamp")
	}
	return r
}

func intern(names map[string]string, b []byte) string {
	if names == nil {
		return string(b)
	}
	if s, ok := names[string(b)]; ok {
		return s
	}
	s := string(b)
	names[s] = s
	return s
}
