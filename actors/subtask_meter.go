package actors

import (
	"maps"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/mailbox"
	"github.com/troupe-dev/troupe/operators"
)

// subtaskMeter counts what a subtask does, for metrics. It is a plain
// value touched only from the subtask's Receive, so counting costs an
// add; its owner copies it into a SubtaskMetrics when its agent asks
// (sampleMsg). A subtask without metrics (Config.MetricsInterval < 0)
// has none and counts nothing.
type subtaskMeter struct {
	recordsIn, recordsOut int64
	batchesIn, batchesOut int64
	remoteIn, remoteOut   int64
	time                  timeSplit
	mailbox               *mailbox.Stats // the subtask's mailbox, to tell idle from queued work
}

// activity is what a subtask is doing between two messages.
type activity uint8

const (
	busy          activity = iota // working, or with work queued
	idle                          // waiting for input
	backpressured                 // its output waits for credit
)

// timeSplit splits a subtask's time since it started into busy, idle and
// backpressured. The clock is read only when the activity changes: at
// most twice per message.
type timeSplit struct {
	started time.Time
	state   activity
	since   time.Time // when state began
	idle    time.Duration
	bp      time.Duration // backpressured
}

func (t *timeSplit) start(now time.Time) {
	t.started, t.since, t.state = now, now, busy
}

// enter changes the activity at now, adding the time of the one that ends.
func (t *timeSplit) enter(now time.Time, a activity) {
	switch t.state {
	case idle:
		t.idle += now.Sub(t.since)
	case backpressured:
		t.bp += now.Sub(t.since)
	}
	t.state, t.since = a, now
}

// totals returns the split at now, the current activity's time included;
// nothing before the clock started (a subtask not yet deployed).
func (t *timeSplit) totals(now time.Time) (busyTime, idleTime, bpTime time.Duration) {
	if t.started.IsZero() {
		return 0, 0, 0
	}
	idleTime, bpTime = t.idle, t.bp
	switch t.state {
	case idle:
		idleTime += now.Sub(t.since)
	case backpressured:
		bpTime += now.Sub(t.since)
	}
	return max(now.Sub(t.started)-idleTime-bpTime, 0), idleTime, bpTime
}

// meterBusy marks the subtask busy as a message comes in.
func (s *subtask) meterBusy() {
	if m := s.meter; m != nil && m.time.state != busy {
		m.time.enter(time.Now(), busy)
	}
}

// meterSettle records what the subtask does once a message is handled:
// wait for credit, for input, or go on with work queued in its mailbox
// or a source's next poll.
func (s *subtask) meterSettle() {
	m := s.meter
	if m == nil || m.time.started.IsZero() {
		return
	}
	a := idle
	switch {
	case s.out != nil && s.out.Blocked():
		a = backpressured
	case s.pumping && !s.pumpWaiting, s.resuming, m.mailbox.Snapshot().Len() > 1: // Len counts the message just handled
		a = busy
	}
	if a != m.time.state {
		m.time.enter(time.Now(), a)
	}
}

// sample returns the subtask's metrics now.
func (s *subtask) sample() SubtaskMetrics {
	now := time.Now()
	m := s.meter
	out := SubtaskMetrics{Job: s.jobName, Run: s.run, Vertex: s.vertex.Name, VertexID: s.vertex.ID, Subtask: s.index,
		Attempt: s.attempt, Node: s.node, Started: m.time.started, At: now, Source: s.vertex.IsSource(), Sink: s.vertex.IsSink(),
		RecordsIn: m.recordsIn, RecordsOut: m.recordsOut, BatchesIn: m.batchesIn, BatchesOut: m.batchesOut,
		RemoteBytesIn: m.remoteIn, RemoteBytesOut: m.remoteOut,
		MailboxLen: max(m.mailbox.Snapshot().Len()-1, 0)} // not the request being answered
	out.Busy, out.Idle, out.Backpressured = m.time.totals(now)
	// Until its deploy opens the chain (the master wires the attempt once
	// every agent is ready) the subtask has no watermark: not the zero
	// value, which is event time 1970.
	out.InputWatermark, out.OutputWatermark = operators.MinWatermark, operators.MinWatermark
	if c := s.chain; c != nil {
		out.InputWatermark, out.OutputWatermark = c.Watermark(), c.OutputWatermark()
		out.SourceRecords, out.SinkRecords, out.LateRecordsDropped = c.SourceRecords(), c.SinkRecords(), c.LateRecordsDropped()
		async := c.AsyncStats()
		for _, name := range slices.Sorted(maps.Keys(async)) {
			out.Async = append(out.Async, AsyncMetrics{Operator: name, AsyncStats: async[name]})
		}
	}
	return out
}
