package persistence

import (
	"encoding/binary"
	"testing"
)

// group encodes records as one key group's bytes.
func group(recs ...record) []byte {
	var b []byte
	for i := range recs {
		b = appendRecord(b, &recs[i])
	}
	return b
}

// kgOf returns a test key whose key group is kg.
func kgOf(kg int) string {
	for i := 0; ; i++ {
		if keyGroupOf(testKey(i)) == kg {
			return testKey(i)
		}
	}
}

func valueRec(name, key string, v int) record {
	return record{name: name, kind: kindValue, key: []byte(key), value: binary.AppendVarint(nil, int64(v))}
}

func TestHeapBackend_Restore_errors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		k0 := kgOf(0)
		snap := func(maxPar int, groups map[int][]byte) *KeyedSnapshot {
			return &KeyedSnapshot{MaxParallelism: maxPar, Groups: groups}
		}
		ok := snap(testMaxPar, map[int][]byte{0: group(valueRec("v", k0, 1))})
		tests := []struct {
			name     string
			snaps    []*KeyedSnapshot
			sentinel error
			parts    []string
		}{
			{"maxPar", []*KeyedSnapshot{snap(4, nil)}, ErrMaxParallelism, []string{"snapshot 0", "4", "8"}},
			{"groupRange", []*KeyedSnapshot{snap(testMaxPar, map[int][]byte{8: nil})}, ErrKeyGroup,
				[]string{"key group 8"}},
			{"groupTwice", []*KeyedSnapshot{ok, ok}, ErrKeyGroup, []string{"key group 0", "snapshots 0 and 1"}},
			{"corrupt", []*KeyedSnapshot{snap(testMaxPar, map[int][]byte{3: {1}})}, ErrCorrupt,
				[]string{"snapshot 0", "key group 3", "offset"}},
			{"kindMix", []*KeyedSnapshot{snap(testMaxPar, map[int][]byte{0: group(valueRec("v", k0, 1),
				record{name: "v", kind: kindList, key: []byte(k0)})})}, ErrCorrupt, []string{`"v"`, "value", "list"}},
			{"badValue", []*KeyedSnapshot{snap(testMaxPar, map[int][]byte{0: group(
				record{name: "v", kind: kindValue, key: []byte(k0), value: []byte{0x80}})})}, ErrIncompatible,
				[]string{`"v"`, "key group 0", "decode value"}},
			{"duplicate", []*KeyedSnapshot{snap(testMaxPar, map[int][]byte{0: group(valueRec("v", k0, 1),
				valueRec("v", k0, 2))})}, ErrCorrupt, []string{"two entries"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := nb(t, Range{}, nil)
				must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
				wantErr(t, b.Restore(tt.snaps...), tt.sentinel, tt.parts...)
			})
		}
	})
}

func TestHeapBackend_Restore_nilSnapshot(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		if err := b.Restore(nil); err == nil {
			t.Error("Restore(nil) succeeded")
		}
	})
}

func TestValue_register_incompatiblePending(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		k0 := kgOf(0)
		snap := &KeyedSnapshot{MaxParallelism: testMaxPar, Groups: map[int][]byte{0: group(valueRec("v", k0, 1))}}
		if err := b.Restore(snap); err != nil {
			t.Fatal(err)
		}
		_, err := List(b, ListDescriptor[int]{Name: "v", Codec: intCodec{}})
		wantErr(t, err, ErrIncompatible, `"v"`, "value", "list")
		_, err = Value(b, ValueDescriptor[int]{Name: "v"})
		wantErr(t, err, ErrConfig, "ValueDescriptor.Codec")
		_, err = Value(b, ValueDescriptor[int]{Name: "v", Codec: failCodec[int]{}})
		wantErr(t, err, ErrIncompatible, "failCodec")
		v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
		b.SetCurrentKey(k0)
		if got, _ := v.Value(); got != 1 {
			t.Errorf("after failed registrations: value %d, want 1", got)
		}
	})
}

func TestHeapBackend_Snapshot_errors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(b *HeapBackend[string])
		sentinel error
		parts    []string
	}{
		{"noKeyCodec", func(b *HeapBackend[string]) { b.cfg.KeyCodec = nil }, ErrConfig,
			[]string{"BackendConfig.KeyCodec"}},
		{"noCodec", func(b *HeapBackend[string]) { must(Value(b, ValueDescriptor[int]{Name: "v"})) }, ErrConfig,
			[]string{`"v"`, "ValueDescriptor.Codec", "Snapshot"}},
		{"noMapValueCodec", func(b *HeapBackend[string]) {
			must(Map(b, MapDescriptor[int, int]{Name: "m", KeyCodec: intCodec{}}))
		}, ErrConfig, []string{"MapDescriptor.ValueCodec"}},
		{"keyOutsideRange", func(b *HeapBackend[string]) {
			b.cfg.KeyGroups = Range{1, testMaxPar}
			must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}})).Update(1)
		}, ErrKeyGroup, []string{`"v"`, "key group 0", "[1, 8)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, Range{}, nil)
			b.SetCurrentKey(kgOf(0))
			tt.setup(b)
			_, err := b.Snapshot()
			wantErr(t, err, tt.sentinel, tt.parts...)
		})
	}
}

func TestHeapBackend_Snapshot_codecError(t *testing.T) {
	forEachBackend(t, func(t *testing.T, nb newFunc) {
		b := nb(t, Range{}, nil)
		must(List(b, ListDescriptor[int]{Name: "l", Codec: failCodec[int]{}})).Add(1)
		if _, err := b.Snapshot(); err == nil {
			t.Fatal("Snapshot succeeded with a failing codec")
		}
	})
}

func TestUnmarshalKeyedSnapshot_errors(t *testing.T) {
	payload := func(maxPar int, groups ...any) []byte {
		p := binary.AppendUvarint(nil, uint64(maxPar))
		p = binary.AppendUvarint(p, uint64(len(groups)/2))
		for i := 0; i < len(groups); i += 2 {
			p = binary.AppendUvarint(p, uint64(groups[i].(int)))
			p = appendBytes(p, groups[i+1].([]byte))
		}
		return p
	}
	good := group(valueRec("v", "k", 1))
	tests := []struct {
		name  string
		in    []byte
		parts []string
	}{
		{"kind", Seal(KindOperator, payload(8)), []string{"operator", "want keyed"}},
		{"maxParZero", Seal(KindKeyed, payload(0)), []string{"max parallelism 0", "offset 0"}},
		{"groupCount", Seal(KindKeyed, []byte{8, 100}), []string{"number of key groups 100"}},
		{"groupRange", Seal(KindKeyed, payload(8, 8, good)), []string{"key group 8"}},
		{"groupOrder", Seal(KindKeyed, payload(8, 3, good, 2, good)), []string{"key group 2"}},
		{"groupDup", Seal(KindKeyed, payload(8, 3, good, 3, good)), []string{"key group 3"}},
		{"trailing", Seal(KindKeyed, append(payload(8), 0)), []string{"1 trailing bytes"}},
		{"emptyName", Seal(KindKeyed, payload(8, 1, group(valueRec("", "k", 1)))), []string{"empty state name"}},
		{"stateKind", Seal(KindKeyed, payload(8, 1, group(record{name: "s", kind: 9}))),
			[]string{"key group 1", "unknown state kind 9", "offset 2"}},
		{"userKey", Seal(KindKeyed, payload(8, 1, group(record{name: "s", kind: kindList, ukey: []byte("u")}))),
			[]string{"user key in a list state record"}},
		{"truncatedRecord", Seal(KindKeyed, payload(8, 1, good[:len(good)-1])), []string{"value length 1 exceeds the 0 bytes left", "offset 7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalKeyedSnapshot(tt.in)
			wantErr(t, err, ErrCorrupt, tt.parts...)
		})
	}
}

func TestKeyedSnapshot_MarshalBinary_errors(t *testing.T) {
	_, err := (&KeyedSnapshot{}).MarshalBinary()
	wantErr(t, err, ErrConfig, "MaxParallelism")
	_, err = (&KeyedSnapshot{MaxParallelism: 2, Groups: map[int][]byte{2: nil}}).MarshalBinary()
	wantErr(t, err, ErrKeyGroup, "key group 2")
}
