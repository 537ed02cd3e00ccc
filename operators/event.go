package operators

import (
	"fmt"

	"github.com/troupe-dev/troupe/watermark"
)

// MaxWatermark is the watermark of a stream that has ended: every event
// time has passed. A chain whose input ends advances to it first, so that
// every event-time timer and window fires before end of input.
const MaxWatermark = watermark.MaxWatermark

// MinWatermark means nothing is known about event time yet.
const MinWatermark = watermark.MinWatermark

// Event is a control element that travels on a channel in order with the
// records: a watermark, a change of stream status, or a checkpoint barrier.
// The runtime ships events between batches, never inside one, so a
// receiver sees them exactly where the sender emitted them.
type Event interface {
	fmt.Stringer
	isEvent()
}

// Watermark says that no record with a timestamp at or below Time should
// follow on this channel; later ones are late.
type Watermark struct{ Time int64 }

// StreamStatus announces that a channel goes idle (it will send nothing for
// a while and must not hold back downstream watermarks) or active again.
type StreamStatus struct{ Idle bool }

// Barrier is checkpoint ID's barrier: every record before it on the channel
// belongs to the checkpoint, every record after it does not.
type Barrier struct {
	ID        int64
	Savepoint bool
	// Unaligned: the barrier of an unaligned checkpoint. It overtakes the
	// records queued ahead of it (the runtime sends it first and the
	// receiver handles it as it arrives); the records it overtook are
	// stored with the checkpoint as in-flight data.
	Unaligned bool
	// Deadline, if not 0, is when (Unix nanoseconds) the barrier of an
	// aligned checkpoint that is still waiting — behind records on an
	// output, or for alignment at a receiver — turns unaligned: the
	// checkpoint's trigger time plus its alignment timeout.
	Deadline int64
}

func (Watermark) isEvent()    {}
func (StreamStatus) isEvent() {}
func (Barrier) isEvent()      {}

func (w Watermark) String() string {
	switch w.Time {
	case MaxWatermark:
		return "watermark(max)"
	case MinWatermark:
		return "watermark(min)"
	}
	return fmt.Sprintf("watermark(%d)", w.Time)
}

func (s StreamStatus) String() string {
	if s.Idle {
		return "idle"
	}
	return "active"
}

func (b Barrier) String() string {
	if b.Savepoint {
		return fmt.Sprintf("savepoint-barrier(%d)", b.ID)
	}
	return fmt.Sprintf("barrier(%d)", b.ID)
}
