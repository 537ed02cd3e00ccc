package barrier

import (
	"fmt"
	"time"
)

// Status is where a checkpoint is in its life.
type Status int

const (
	// StatusPending: triggered, waiting for acks.
	StatusPending Status = iota
	// StatusWriting: every task acked; the metadata write is in flight.
	StatusWriting
	// StatusCompleted: the metadata was written; the checkpoint is
	// restorable.
	StatusCompleted
	// StatusAborted: timed out, declined, failed to write, subsumed or
	// reset.
	StatusAborted
)

func (s Status) String() string {
	switch s {
	case StatusPending:
		return "pending"
	case StatusWriting:
		return "writing"
	case StatusCompleted:
		return "completed"
	case StatusAborted:
		return "aborted"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Stats describes one checkpoint, for metrics and the dashboard.
type Stats struct {
	ID        int64
	Savepoint bool
	Status    Status
	Triggered time.Time
	Acks      int       // acks received
	Tasks     int       // acks needed
	LastAck   time.Time // when the latest ack came; zero before the first
	// Ended is when it completed or was aborted; zero while pending.
	Ended time.Time
	// Duration is Ended − Triggered; zero while pending.
	Duration time.Duration
	// Reason is why it was aborted; nil otherwise.
	Reason error
}

// checkpoint is the Coordinator's record of a pending checkpoint.
type checkpoint struct {
	id        int64
	savepoint bool
	triggered time.Time
	lastAck   time.Time
	acks      map[TaskID]any
	writing   bool // every task acked and WriteMetadata was issued
}

func (p *checkpoint) stats(tasks int) Stats {
	s := Stats{ID: p.id, Savepoint: p.savepoint, Status: StatusPending, Triggered: p.triggered,
		Acks: len(p.acks), Tasks: tasks, LastAck: p.lastAck}
	if p.writing {
		s.Status = StatusWriting
	}
	return s
}

// ended returns p's final Stats.
func (p *checkpoint) ended(tasks int, now time.Time, reason error) Stats {
	s := p.stats(tasks)
	s.Status, s.Ended, s.Duration, s.Reason = StatusCompleted, now, now.Sub(p.triggered), reason
	if reason != nil {
		s.Status = StatusAborted
	}
	return s
}
