package actors

import "time"

// The subtask's timers: each sends a message to the subtask itself, so
// that the work they trigger runs in its Receive like any other. They are
// owned timers: the subtask's stop cancels each, or waits for its send
// if it has fired (stopTimers), so that none outlives the subtask. A
// send never blocks: the subtask's mailbox is bounded with room for one
// message of each timer (mailbox.Bound's control slack), and each timer
// has one message in the mailbox at most — the flush and pump timers
// are re-armed only once their message is handled, the processing-time
// and alignment timers, which are re-armed earlier, send only when no
// message of theirs is pending (sendAfterUnlessPending).

// pump asks for another poll of the source soon, through the mailbox, so
// that credits and control messages are handled in between.
func (s *subtask) pump() {
	if !s.pumping {
		s.pumping = true
		s.ctx.Send(s.ctx.Self(), &pumpMsg{})
	}
}

// pumpAt schedules a poll at t (a rate-limited source).
func (s *subtask) pumpAt(t time.Time) {
	if s.pumping {
		return
	}
	s.pumping, s.pumpWaiting = true, true
	s.pumpTimer.stop() // fired: its message was handled, which let pumping go
	s.pumpTimer = sendAfter(s.root, time.Until(t), s.ctx.Self(), &pumpMsg{})
}

// armFlush starts the buffer timer when a partly filled batch waits, so that
// no record waits longer than the buffer timeout.
func (s *subtask) armFlush() {
	if s.flushArmed || !s.chain.Buffered() {
		return
	}
	s.flushArmed = true
	s.flushTimer.stop() // fired: its message was handled, which let flushArmed go
	s.flushTimer = sendAfter(s.root, s.cfg.BufferTimeout, s.ctx.Self(), &flushMsg{})
}

// armTimer keeps one timer armed for the earliest processing time an
// operator waits for (periodic watermarks, processing-time timers). A
// finished subtask still takes checkpoints: it keeps the deadlines of
// the operators that fetch their state for them (an actor operator's
// reply timeout), so that an actor that does not answer its Snapshot
// fails the job as it would while running.
func (s *subtask) armTimer() {
	var next func() (time.Time, bool)
	switch {
	case s.state.clockRuns():
		next = s.chain.NextProcessingTime
	case s.state.eoiQueued():
		next = s.chain.NextPreparingTime
	default:
		return // not started (its start calls drive), or no longer active
	}
	at, ok := next()
	if !ok || (!s.timerAt.IsZero() && !at.Before(s.timerAt)) {
		return
	}
	s.timer.stop()
	s.timerAt = at
	s.timer = sendAfterUnlessPending(s.root, time.Until(at), s.ctx.Self(), &timerMsg{}, &s.timerPending)
}

// stopTimers cancels the subtask's timers and waits for the sends of
// those that fired.
func (s *subtask) stopTimers() {
	for _, t := range []*ownedTimer{s.flushTimer, s.pumpTimer, s.timer, s.alignTimer} {
		t.stop()
	}
}
