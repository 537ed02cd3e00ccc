package actors

import (
	"fmt"

	"github.com/troupe-dev/troupe/actors/wire"
	"github.com/troupe-dev/troupe/operators"
)

// Channels between nodes. A subtask talks to a peer on another node with
// wire messages instead of Go values: a batch's records are encoded with
// the stream's batch codec (operators.VertexEdge.EncodeBatch) into
// wire.Batch fragments of at most RemoteConfig.BatchBytes each, and the
// receiver reassembles the fragments of one logical batch and decodes
// them into the same batchMsg a local sender would have sent. A logical
// batch costs one credit however many fragments it takes, and credits go
// back as wire.Credit, so credits bound what each remote channel has in
// flight — and with it Proto.Actor's unbounded send queue — exactly as
// they bound a local channel. Local channels never serialise.

// sendRemote sends m, which holds a credit, to a peer on another node.
// The batch goes back to its pool once encoded.
func (s *subtask) sendRemote(ep *endpoint, m *batchMsg) {
	b := &wire.Batch{Run: s.run, Attempt: int32(s.attempt), Ch: int32(ep.index), Eoi: m.eoi}
	if m.ev != nil {
		setEvent(b, m.ev)
	}
	if m.data == nil {
		s.ctx.Send(ep.pid, b)
		s.countSent(1, 0)
		s.trackSent(ep, 0)
		return
	}
	// Sized for the channel's recent batches: encoding rarely grows it.
	payload, err := ep.edge.EncodeBatch(make([]byte, 0, ep.sizeHint), m.data)
	ep.edge.ReleaseBatch(m.data)
	if err != nil {
		s.fail(fmt.Errorf("output channel %d to %s: encode batch: %w", m.out, ep.pid, err))
		return
	}
	// The hint shrinks slowly: a batch cut short by the buffer timeout
	// must not make the next full one grow its buffer from small, which
	// copies it over and over.
	ep.sizeHint = max(len(payload)+len(payload)/8, ep.sizeHint-ep.sizeHint/32)
	s.sendFragments(ep, b, payload)
	s.trackSent(ep, len(payload))
}

// sendFragments sends payload in fragments of at most the fragment cap;
// the last one carries b's end of input.
func (s *subtask) sendFragments(ep *endpoint, last *wire.Batch, payload []byte) {
	limit := s.cfg.Remote.fragmentCap()
	n, size := int64(0), int32(len(payload))
	for len(payload) > limit {
		n++
		s.ctx.Send(ep.pid, &wire.Batch{Run: last.Run, Attempt: last.Attempt, Ch: last.Ch, Payload: payload[:limit:limit], More: true, Size: size})
		payload, size = payload[limit:], 0
	}
	last.Payload = payload
	s.ctx.Send(ep.pid, last)
	s.countSent(n+1, int64(len(payload))+n*int64(limit))
}

// countSent counts fragments sent and the record bytes they carried.
func (s *subtask) countSent(fragments, bytes int64) {
	if s.meter != nil {
		s.meter.remoteOut += bytes
	}
	if s.remoteStats == nil {
		return
	}
	s.remoteStats.fragments.Add(fragments)
	if bytes > 0 {
		s.remoteStats.batches.Add(1)
		s.remoteStats.bytes.Add(bytes)
	}
}

func setEvent(b *wire.Batch, ev operators.Event) {
	switch e := ev.(type) {
	case operators.Watermark:
		b.Event, b.Watermark = wire.EventKind_EVENT_WATERMARK, e.Time
	case operators.StreamStatus:
		b.Event, b.Idle = wire.EventKind_EVENT_STATUS, e.Idle
	case operators.Barrier:
		b.Event, b.Barrier, b.Savepoint = wire.EventKind_EVENT_BARRIER, e.ID, e.Savepoint
		b.Unaligned, b.Deadline = e.Unaligned, e.Deadline
	}
}

func eventOf(b *wire.Batch) (operators.Event, error) {
	switch b.Event {
	case wire.EventKind_EVENT_NONE:
		return nil, nil
	case wire.EventKind_EVENT_WATERMARK:
		return operators.Watermark{Time: b.Watermark}, nil
	case wire.EventKind_EVENT_STATUS:
		return operators.StreamStatus{Idle: b.Idle}, nil
	case wire.EventKind_EVENT_BARRIER:
		return operators.Barrier{ID: b.Barrier, Savepoint: b.Savepoint, Unaligned: b.Unaligned, Deadline: b.Deadline}, nil
	}
	return nil, fmt.Errorf("%w: event kind %d", ErrUnexpectedMessage, b.Event)
}

// onRemoteBatch takes a fragment from a peer on another node. A message
// of another run or attempt is dropped (fencing); once the last fragment
// of a logical batch has come, the batch is decoded and handled as a
// local batchMsg. What cannot be decoded fails the subtask with an error
// naming the channel and its sender; it never panics.
func (s *subtask) onRemoteBatch(m *wire.Batch) {
	if m.Run != s.run || int(m.Attempt) != s.attempt || s.in == nil {
		return
	}
	ch := int(m.Ch)
	if ch < 0 || ch >= len(s.inputs) || !s.inputs[ch].remote {
		s.fail(fmt.Errorf("%w: remote batch on input channel %d, which has no remote sender", ErrUnexpectedMessage, ch))
		return
	}
	if m.More {
		if s.frags[ch] == nil {
			s.frags[ch] = make([]byte, 0, max(int(m.Size), 2*len(m.Payload)))
		}
		s.frags[ch] = append(s.frags[ch], m.Payload...)
		return
	}
	payload := m.Payload
	if s.frags[ch] != nil {
		payload, s.frags[ch] = append(s.frags[ch], payload...), nil
	}
	if s.meter != nil {
		s.meter.remoteIn += int64(len(payload))
	}
	bm, err := s.decodeRemote(ch, m, payload)
	if err != nil {
		peer := s.inputs[ch]
		s.fail(fmt.Errorf("input channel %d from %s (%s): %w", ch, peer.pid, peer.edge.From.Name, err))
		return
	}
	if err := s.arrive(ch, bm); err != nil {
		s.fail(err)
		return
	}
	s.drive()
}

func (s *subtask) decodeRemote(ch int, m *wire.Batch, payload []byte) (*batchMsg, error) {
	bm := &batchMsg{ch: ch, eoi: m.Eoi}
	if len(payload) > 0 {
		data, err := s.inputs[ch].edge.DecodeBatch(payload)
		if err != nil {
			return nil, err
		}
		bm.data = data
		return bm, nil
	}
	ev, err := eventOf(m)
	bm.ev = ev
	return bm, err
}

// onRemoteCredit takes credits back from a peer on another node.
func (s *subtask) onRemoteCredit(m *wire.Credit) {
	if m.Run != s.run || int(m.Attempt) != s.attempt || s.out == nil {
		return
	}
	ch := int(m.Ch)
	if ch < 0 || ch >= len(s.outputs) || !s.outputs[ch].remote || m.N < 1 {
		s.fail(fmt.Errorf("%w: remote credit %d on output channel %d", ErrUnexpectedMessage, m.N, ch))
		return
	}
	s.trackReturned(&s.outputs[ch], int(m.N))
	s.out.Grant(ch, int(m.N), s.send)
	s.drive()
}
