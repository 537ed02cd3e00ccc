package persistence

import (
	"encoding/binary"
	"fmt"
)

// ChannelState is the in-flight data of one subtask at an unaligned
// checkpoint (Flink's channel state, FLIP-76): per input channel, what
// had arrived before the checkpoint's barrier and was not yet consumed
// when the subtask snapshotted; per output channel, what was waiting for
// credit when the barrier overtook it. A restore consumes the input
// channel state before anything new arrives, and sends the output channel
// state downstream before anything the subtask produces. Channels are
// numbered as the subtask numbers them, so channel state is only valid
// for the same job graph at the same parallelism.
type ChannelState struct {
	Inputs  [][]ChannelEntry // by input channel
	Outputs [][]ChannelEntry // by output channel
}

// EntryKind says what a ChannelEntry holds.
type EntryKind byte

// The kinds of channel entries: what travels on a channel, barriers and
// the end of input aside (a barrier marks where channel state ends; the
// end of input is sent again by the restored sender).
const (
	// EntryBatch: records, encoded by the stream's batch codec.
	EntryBatch EntryKind = iota + 1
	// EntryWatermark: a watermark.
	EntryWatermark
	// EntryStatus: an idle or active stream status.
	EntryStatus
)

// ChannelEntry is one message of a channel's in-flight data.
type ChannelEntry struct {
	Kind      EntryKind
	Batch     []byte // EntryBatch: the encoded records
	Watermark int64  // EntryWatermark
	Idle      bool   // EntryStatus
}

// channelStateMagic opens an encoded ChannelState, which a store keeps in
// a subtask state envelope (KindSubtask) of its own; the magic tells it
// from an operator state file.
const channelStateMagic = "TRPC"

// channelStateVersion is the only version of the encoding this build
// writes and reads.
const channelStateVersion = 1

// Empty reports whether no channel holds any entry.
func (c *ChannelState) Empty() bool {
	for _, chs := range [][][]ChannelEntry{c.Inputs, c.Outputs} {
		for _, es := range chs {
			if len(es) > 0 {
				return false
			}
		}
	}
	return true
}

// BatchBytes returns the bytes of encoded records it holds: the in-flight
// data persisted, as Flink reports it.
func (c *ChannelState) BatchBytes() int64 {
	var n int64
	for _, chs := range [][][]ChannelEntry{c.Inputs, c.Outputs} {
		for _, es := range chs {
			for _, e := range es {
				n += int64(len(e.Batch))
			}
		}
	}
	return n
}

// MarshalBinary encodes the channel state:
//
//	"TRPC" | version (1 byte) | channels(Inputs) | channels(Outputs)
//	channels: uvarint count, then per channel uvarint entries and each entry
//	entry: kind (1 byte), then uvarint length and bytes (batch), a zig-zag
//	       varint (watermark) or one byte 0/1 (status)
//
// The store's envelope adds the checksum.
func (c *ChannelState) MarshalBinary() []byte {
	b := append([]byte(channelStateMagic), channelStateVersion)
	b = appendChannels(b, c.Inputs)
	return appendChannels(b, c.Outputs)
}

func appendChannels(b []byte, chs [][]ChannelEntry) []byte {
	b = binary.AppendUvarint(b, uint64(len(chs)))
	for _, es := range chs {
		b = binary.AppendUvarint(b, uint64(len(es)))
		for _, e := range es {
			b = append(b, byte(e.Kind))
			switch e.Kind {
			case EntryBatch:
				b = binary.AppendUvarint(b, uint64(len(e.Batch)))
				b = append(b, e.Batch...)
			case EntryWatermark:
				b = binary.AppendVarint(b, e.Watermark)
			case EntryStatus:
				b = append(b, boolByte(e.Idle))
			}
		}
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// UnmarshalChannelState decodes what MarshalBinary wrote. Malformed input
// gives an error wrapping ErrCorrupt that names the offset, another
// version one wrapping ErrVersion; it never panics, and it allocates no
// more entries than the input has bytes. Batches alias b.
func UnmarshalChannelState(b []byte) (*ChannelState, error) {
	if len(b) < len(channelStateMagic)+1 || string(b[:len(channelStateMagic)]) != channelStateMagic {
		return nil, corruptf("channel state: bad magic or header (%d bytes)", len(b))
	}
	if v := b[len(channelStateMagic)]; v != channelStateVersion {
		return nil, fmt.Errorf("%w: channel state version %d, this build reads version %d", ErrVersion, v, channelStateVersion)
	}
	d := &channelDecoder{b: b, off: len(channelStateMagic) + 1}
	cs := &ChannelState{Inputs: d.channels(), Outputs: d.channels()}
	if d.err == nil && d.off != len(b) {
		d.fail("%d trailing bytes", len(b)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return cs, nil
}

// channelDecoder reads an encoded channel state; its error is sticky.
type channelDecoder struct {
	b   []byte
	off int
	err error
}

func (d *channelDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corruptf("channel state at offset %d: %s", d.off, fmt.Sprintf(format, args...))
	}
}

// count reads a count of items, each at least one byte long: a count
// larger than the bytes left is corrupt, which bounds every allocation.
func (d *channelDecoder) count(what string) int {
	n, w := binary.Uvarint(d.b[d.off:])
	if w <= 0 || n > uint64(len(d.b)-d.off-w) {
		d.fail("bad %s count", what)
		return 0
	}
	d.off += w
	return int(n)
}

func (d *channelDecoder) channels() [][]ChannelEntry {
	if d.err != nil {
		return nil
	}
	n := d.count("channel")
	var chs [][]ChannelEntry
	if n > 0 {
		chs = make([][]ChannelEntry, n)
	}
	for i := range n {
		m := d.count("entry")
		for range m {
			e, ok := d.entry()
			if !ok {
				return nil
			}
			chs[i] = append(chs[i], e)
		}
		if d.err != nil {
			return nil
		}
	}
	return chs
}

func (d *channelDecoder) entry() (ChannelEntry, bool) {
	if d.off >= len(d.b) {
		d.fail("truncated entry")
		return ChannelEntry{}, false
	}
	e := ChannelEntry{Kind: EntryKind(d.b[d.off])}
	d.off++
	switch e.Kind {
	case EntryBatch:
		l, w := binary.Uvarint(d.b[d.off:])
		if w <= 0 || l > uint64(len(d.b)-d.off-w) {
			d.fail("bad batch length")
			return e, false
		}
		start := d.off + w
		e.Batch, d.off = d.b[start:start+int(l):start+int(l)], start+int(l)
	case EntryWatermark:
		v, w := binary.Varint(d.b[d.off:])
		if w <= 0 {
			d.fail("bad watermark")
			return e, false
		}
		e.Watermark, d.off = v, d.off+w
	case EntryStatus:
		if d.off >= len(d.b) || d.b[d.off] > 1 {
			d.fail("bad stream status")
			return e, false
		}
		e.Idle, d.off = d.b[d.off] == 1, d.off+1
	default:
		d.off--
		d.fail("unknown entry kind %d", e.Kind)
		return e, false
	}
	return e, true
}
