package persistence

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// sampleChannelState has input and output channels, empty ones among
// them, and every kind of entry.
func sampleChannelState() *ChannelState {
	return &ChannelState{
		Inputs: [][]ChannelEntry{
			{{Kind: EntryBatch, Batch: []byte("records of a batch")}, {Kind: EntryWatermark, Watermark: -7}},
			nil,
			{{Kind: EntryStatus, Idle: true}, {Kind: EntryBatch, Batch: []byte{}}, {Kind: EntryStatus}},
		},
		Outputs: [][]ChannelEntry{nil, {{Kind: EntryBatch, Batch: bytes.Repeat([]byte{0xff}, 300)}}},
	}
}

func TestChannelState_roundTrip(t *testing.T) {
	for name, cs := range map[string]*ChannelState{
		"sample":              sampleChannelState(),
		"empty":               {},
		"no data on channels": {Inputs: make([][]ChannelEntry, 3), Outputs: make([][]ChannelEntry, 1)},
	} {
		t.Run(name, func(t *testing.T) {
			b := cs.MarshalBinary()
			got, err := UnmarshalChannelState(b)
			if err != nil {
				t.Fatal(err)
			}
			if !sameChannelState(got, cs) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, cs)
			}
		})
	}
}

// sameChannelState compares two channel states, nil and empty slices
// alike.
func sameChannelState(a, b *ChannelState) bool {
	norm := func(chs [][]ChannelEntry) [][]ChannelEntry {
		out := make([][]ChannelEntry, len(chs))
		for i, es := range chs {
			for _, e := range es {
				if e.Batch == nil && e.Kind == EntryBatch {
					e.Batch = []byte{}
				}
				out[i] = append(out[i], e)
			}
		}
		return out
	}
	return reflect.DeepEqual(norm(a.Inputs), norm(b.Inputs)) && reflect.DeepEqual(norm(a.Outputs), norm(b.Outputs))
}

func TestChannelState_BatchBytes(t *testing.T) {
	if got := sampleChannelState().BatchBytes(); got != int64(len("records of a batch")+300) {
		t.Fatalf("BatchBytes = %d", got)
	}
	if !(&ChannelState{Inputs: make([][]ChannelEntry, 2)}).Empty() || sampleChannelState().Empty() {
		t.Fatal("Empty")
	}
}

// Every truncation, a wrong magic, a newer version, an unknown entry kind
// and trailing bytes are refused with an error, never a panic.
func TestUnmarshalChannelState_refusesBadInput(t *testing.T) {
	good := sampleChannelState().MarshalBinary()
	for n := range len(good) {
		if _, err := UnmarshalChannelState(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v, want ErrCorrupt", n, err)
		}
	}
	bad := func(edit func(b []byte) []byte) []byte { return edit(bytes.Clone(good)) }
	cases := map[string]struct {
		b    []byte
		want error
	}{
		"magic":      {bad(func(b []byte) []byte { b[0] = 'X'; return b }), ErrCorrupt},
		"version":    {bad(func(b []byte) []byte { b[4] = channelStateVersion + 1; return b }), ErrVersion},
		"trailing":   {append(bytes.Clone(good), 0), ErrCorrupt},
		"kind":       {bad(func(b []byte) []byte { b[7] = 9; return b }), ErrCorrupt},
		"huge count": {append([]byte(channelStateMagic), channelStateVersion, 0xff, 0xff, 0xff, 0xff, 0x0f), ErrCorrupt},
	}
	for name, tc := range cases {
		if _, err := UnmarshalChannelState(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// Metadata that lists in-flight data is sealed at format version 2: a
// build that knows nothing of channel state refuses it (ErrVersion)
// rather than restore without the in-flight records. Other metadata
// stays at version 1, readable by older builds.
func TestMetadata_channelStateVersion(t *testing.T) {
	m := &Metadata{ID: 3, Job: "j", MaxParallelism: 8, Tasks: []TaskState{
		{Vertex: "a", Subtask: 0, Parallelism: 1, Handle: "a.state", Channels: "a-channels.state", InFlight: 42}}}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if b[len(magic)] != FormatVersionChannels {
		t.Fatalf("sealed at version %d, want %d", b[len(magic)], FormatVersionChannels)
	}
	got, err := UnmarshalMetadata(b)
	if err != nil || got.Tasks[0].Channels != "a-channels.state" || got.Tasks[0].InFlight != 42 || !got.HasChannelState() {
		t.Fatalf("UnmarshalMetadata: %+v, %v", got, err)
	}
	m.Tasks[0].Channels, m.Tasks[0].InFlight = "", 0
	if b, _ = m.MarshalBinary(); b[len(magic)] != FormatVersion {
		t.Fatalf("aligned metadata sealed at version %d, want %d", b[len(magic)], FormatVersion)
	}
	p, _ := json.Marshal(m)
	future := Seal(KindMetadata, p)
	future[len(magic)] = FormatVersionChannels + 1
	if _, err := UnmarshalMetadata(future); !errors.Is(err, ErrVersion) {
		t.Fatalf("version %d: %v, want ErrVersion", FormatVersionChannels+1, err)
	}
}
