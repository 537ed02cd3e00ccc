package actors

import "time"

// The subtask's timers: each sends a message to the subtask itself, so
// that the work they trigger runs in its Receive like any other.

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
	self, root := s.ctx.Self(), s.root
	s.pumpTimer = time.AfterFunc(time.Until(t), func() { root.Send(self, &pumpMsg{}) })
}

// armFlush starts the buffer timer when a partly filled batch waits, so that
// no record waits longer than the buffer timeout.
func (s *subtask) armFlush() {
	if s.flushArmed || !s.chain.Buffered() {
		return
	}
	s.flushArmed = true
	self, root := s.ctx.Self(), s.root
	s.flushTimer = time.AfterFunc(s.cfg.BufferTimeout, func() { root.Send(self, &flushMsg{}) })
}

// armTimer keeps one timer armed for the earliest processing time an
// operator waits for (periodic watermarks, processing-time timers). A
// finished subtask still takes checkpoints: it keeps the deadlines of
// the operators that fetch their state for them (an actor operator's
// reply timeout), so that an actor that does not answer its Snapshot
// fails the job as it would while running.
func (s *subtask) armTimer() {
	if s.failed {
		return
	}
	next := s.chain.NextProcessingTime
	if s.finished {
		next = s.chain.NextPreparingTime
	}
	at, ok := next()
	if !ok || (!s.timerAt.IsZero() && !at.Before(s.timerAt)) {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timerAt = at
	self, root := s.ctx.Self(), s.root
	s.timer = time.AfterFunc(time.Until(at), func() { root.Send(self, &timerMsg{}) })
}

func (s *subtask) stopTimers() {
	for _, t := range []*time.Timer{s.flushTimer, s.pumpTimer, s.timer, s.alignTimer} {
		if t != nil {
			t.Stop()
		}
	}
}
