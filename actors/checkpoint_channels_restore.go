package actors

import (
	"fmt"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// The restore of an unaligned checkpoint's channel state (see
// checkpoint_unaligned.go).

// replayChannels queues the channel state the subtask restores: its
// input channel state ahead of anything that arrives, its output channel
// state to send when the job starts (sendRecovered), ahead of anything
// it produces. The channels must be the ones it had: the same job graph
// at the same parallelism (the restore plan checks that).
func (s *subtask) replayChannels(cs *persistence.ChannelState) error {
	if cs == nil {
		return nil
	}
	if len(cs.Inputs) != len(s.inputs) || len(cs.Outputs) != len(s.outputs) {
		return fmt.Errorf("%w: in-flight data of %d inputs and %d outputs, the subtask has %d and %d",
			ErrRestore, len(cs.Inputs), len(cs.Outputs), len(s.inputs), len(s.outputs))
	}
	for ch, entries := range cs.Inputs {
		for _, e := range entries {
			m, err := recoveredMsg(s.inputs[ch].edge, e)
			if err != nil {
				return fmt.Errorf("%w: in-flight data of input channel %d: %w", ErrRestore, ch, err)
			}
			m.ch, m.recovered = ch, true
			s.in.PushRecovered(ch, m)
		}
	}
	for ch, entries := range cs.Outputs {
		for _, e := range entries {
			m, err := recoveredMsg(s.outputs[ch].edge, e)
			if err != nil {
				return fmt.Errorf("%w: in-flight data of output channel %d: %w", ErrRestore, ch, err)
			}
			m.ch, m.out = s.outputs[ch].index, ch
			s.recoveredOut = append(s.recoveredOut, m)
		}
	}
	return nil
}

// recoveredMsg decodes a channel entry into the message that carried it.
func recoveredMsg(edge *operators.VertexEdge, e persistence.ChannelEntry) (*batchMsg, error) {
	switch e.Kind {
	case persistence.EntryBatch:
		data, err := edge.DecodeBatch(e.Batch)
		if err != nil {
			return nil, err
		}
		return &batchMsg{data: data}, nil
	case persistence.EntryWatermark:
		return &batchMsg{ev: operators.Watermark{Time: e.Watermark}}, nil
	case persistence.EntryStatus:
		return &batchMsg{ev: operators.StreamStatus{Idle: e.Idle}}, nil
	}
	return nil, fmt.Errorf("entry kind %d", e.Kind)
}

// sendRecovered sends the restored output channel state, in order, before
// anything else: when the job starts, once every subtask is deployed.
func (s *subtask) sendRecovered() {
	for _, m := range s.recoveredOut {
		s.offer(m.out, m)
	}
	s.recoveredOut = nil
}
