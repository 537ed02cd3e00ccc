package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/persistence"
)

// Ownership of jobs through the job store (DESIGN.md, cluster
// invariants): the coordinator that admits a job creates its record as
// owner at epoch 1; while it runs the job it renews the record's lease;
// a coordinator that finds a live job whose lease has run out (its owner
// died, or was cut off) takes it over by compare-and-set at the next
// epoch and resumes it from its run's latest checkpoint. A master whose
// renewal fails (the record moved on, or the store cannot confirm it in
// time) cancels its job itself.

// leaseLoop renews the leases of the jobs this node owns, every Renew.
// It has a goroutine of its own, so that nothing else — the takeover
// scan over every record, a slow store call of another kind — can hold a
// renewal up. It exits when the service closes.
func (s *jobService) leaseLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.timing.Renew)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		for _, e := range s.owned() {
			s.renew(e)
		}
	}
}

// takeoverLoop, while the node coordinates, takes over jobs whose lease
// ran out and removes the records of ended jobs that retention forgets,
// every Renew; each scan is bounded by a lease. On every node it forgets
// the ended jobs the node ran likewise. It exits when the service
// closes.
func (s *jobService) takeoverLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.timing.Renew)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.compactLocal(time.Now())
		if s.coordinates() {
			s.takeOver()
		}
	}
}

// owned lists the entries whose lease this node holds and renews: not
// lost, their end not yet recorded.
func (s *jobService) owned() []*jobEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*jobEntry
	for _, e := range s.jobs {
		if e.lease != nil && !e.recorded {
			out = append(out, e)
		}
	}
	return out
}

// renew extends e's lease, writing what the job's status is now.
func (s *jobService) renew(e *jobEntry) {
	epoch, rev, until, lost := e.lease.snapshot()
	if lost {
		return
	}
	start := time.Now()
	s.mu.Lock()
	if e.recorded || e.ending {
		s.mu.Unlock()
		return // awaitEnd writes the record now
	}
	rec := s.recordLocked(e)
	s.mu.Unlock()
	rec.Epoch, rec.LeaseUntil = epoch, start.Add(s.timing.Lease)
	ctx, cancel := context.WithTimeout(context.Background(), s.timing.Margin)
	defer cancel()
	newRev, err := s.recs.update(ctx, rec, rev)
	switch {
	case err == nil:
		e.lease.renewed(newRev, rec.LeaseUntil)
	case errors.Is(err, persistence.ErrStaleRevision):
		s.reconcile(e, epoch)
	case !time.Now().Before(until.Add(-s.timing.Margin)):
		s.fence(e, fmt.Errorf("the job store did not confirm the lease in time: %w", err))
	default:
		s.log.Warn("job lease not renewed; trying again", "job", e.id, "err", err)
	}
}

// recordLocked is the record of an entry this node owns, as it stands;
// the service's mu is held.
func (s *jobService) recordLocked(e *jobEntry) *jobRecord {
	st := s.statusLocked(e)
	rec := &jobRecord{ID: e.id, Request: e.req, Submitted: e.submitted, Owner: s.self,
		State: st.State, Ended: st.Ended, Failure: st.Failure, Restarts: st.Restarts,
		LatestCheckpoint: st.LatestCheckpoint, StoppedWithSavepoint: e.stoppedWithSavepoint,
		CancelRequested: e.cancelRequested && !terminalState(st.State)}
	if !terminalState(rec.State) && rec.State != StateWaitingForSlots {
		rec.State = StateRunning // restarting or deploying: alive
	}
	return rec
}

// reconcile handles a renewal refused because the record was written
// since: by a node asking for a cancel (the owner stays; it cancels) or
// by a node that took the job over (this master fences itself).
func (s *jobService) reconcile(e *jobEntry, epoch uint64) {
	rec, rev, err := s.recs.get(context.Background(), e.id)
	switch {
	case errors.Is(err, persistence.ErrRecordNotFound):
		// Only an ended job's record is removed (retention): another
		// owner ended the job while this node was cut off.
		s.fence(e, fmt.Errorf("its record is gone: another node ended the job, and its record was removed since"))
		return
	case err != nil:
		s.log.Warn("job record unreadable after a refused renewal", "job", e.id, "err", err)
		return
	case rec.Owner != s.self || rec.Epoch != epoch:
		s.fence(e, fmt.Errorf("node %s took the job over at epoch %d", rec.Owner, rec.Epoch))
		return
	}
	e.lease.setRev(rev)
	if rec.CancelRequested {
		s.mu.Lock()
		e.cancelRequested = true
		s.mu.Unlock()
		_ = s.cancelLocal(e)
	}
}

// fence gives up a job whose lease this node lost: the master commits
// nothing more (its guard refuses from now on), the job is cancelled
// here, and the node forgets it — its status is the new owner's now.
func (s *jobService) fence(e *jobEntry, cause error) {
	if !e.lease.lose() {
		return
	}
	s.log.Error("lost the job's lease; cancelling it here", "job", e.id, "cause", cause)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.jobs, e.id)
	s.order = slices.DeleteFunc(s.order, func(id string) bool { return id == e.id })
	s.waiting = slices.DeleteFunc(s.waiting, func(w *jobEntry) bool { return w == e })
	if e.job != nil {
		s.fenced[e.id] = e
		go e.job.Cancel()
	}
}

// takeOver takes over every live job whose lease has run out and that
// this node does not run: the coordinator's duty.
func (s *jobService) takeOver() {
	ctx, cancel := context.WithTimeout(context.Background(), s.timing.Lease)
	defer cancel()
	recs, revs, errs := s.recs.all(ctx)
	for _, err := range errs {
		s.log.Warn("job store", "err", err)
	}
	now := time.Now()
	for i, rec := range recs {
		if rec.terminal() || now.Before(rec.LeaseUntil) || !s.mayTakeOver(rec.ID) {
			continue
		}
		s.takeOverOne(rec, revs[i])
	}
	s.compactRecords(ctx, recs, revs, now)
}

// mayTakeOver reports whether id is neither run here nor still stopping
// here after this node lost it.
func (s *jobService) mayTakeOver(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.jobs[id] != nil {
		return false
	}
	if f := s.fenced[id]; f != nil {
		select {
		case <-f.job.Done():
			delete(s.fenced, id)
		default:
			return false
		}
	}
	return true
}

// takeOverOne claims rec at the next epoch and resumes its job here.
func (s *jobService) takeOverOne(rec *jobRecord, rev uint64) {
	prev := rec.Owner
	start := time.Now()
	rec.Owner, rec.Epoch, rec.LeaseUntil = s.self, rec.Epoch+1, start.Add(s.timing.Lease)
	cause := fmt.Sprintf("the job master on node %s was lost (its lease ran out); node %s took the job over", prev, s.self)
	if rec.State == StateRunning {
		rec.Restarts++
		rec.Failure = cause
	}
	if rec.CancelRequested {
		rec.State, rec.Ended = StateCancelled, start
	}
	newRev, err := s.recs.update(context.Background(), rec, rev)
	if err != nil {
		if !errors.Is(err, persistence.ErrStaleRevision) {
			s.log.Warn("job takeover failed", "job", rec.ID, "err", err)
		}
		return // another node was quicker, or the store is down: next round
	}
	if rec.terminal() {
		return
	}
	s.log.Warn("taking over job", "job", rec.ID, "from", prev, "epoch", rec.Epoch)
	s.admitTakenOver(rec, newRev, cause)
}

// admitTakenOver queues a taken-over job as if just submitted, keeping
// its id (its run), submission time and restart count.
func (s *jobService) admitTakenOver(rec *jobRecord, rev uint64, cause string) {
	l := &lease{epoch: rec.Epoch, rev: rev, until: rec.LeaseUntil, margin: s.timing.Margin}
	e, err := s.check(rec.Request)
	if err != nil { // the pipeline no longer builds here: the job fails
		rec.State, rec.Ended, rec.Failure = StateFailed, time.Now(), fmt.Sprintf("taken over by %s but cannot be rebuilt: %v", s.self, err)
		if _, err := s.recs.update(context.Background(), rec, rev); err != nil {
			s.log.Error("job record not written", "job", rec.ID, "err", err)
		}
		return
	}
	e.id, e.submitted, e.lease, e.priorRestarts, e.takeoverCause = rec.ID, rec.Submitted, l, rec.Restarts, cause
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[e.id] = e
	s.order = append(s.order, e.id)
	slices.SortStableFunc(s.order, func(a, b string) int { return s.jobs[a].submitted.Compare(s.jobs[b].submitted) })
	s.waiting = append(s.waiting, e)
	s.admitLocked()
}

// recordEnd writes a job's end into its record, once, unless its lease
// was lost (then it is the new owner's to write).
func (s *jobService) recordEnd(e *jobEntry) { s.writeEnd(e, false) }

// writeEnd writes e's end into its record at this node's epoch; unless
// closing (the node stops and gave up its leases only so that its
// masters commit nothing more), not once the lease is lost.
func (s *jobService) writeEnd(e *jobEntry, closing bool) {
	for range 10 {
		epoch, rev, _, lost := e.lease.snapshot()
		if lost && !closing {
			return
		}
		s.mu.Lock()
		rec := s.recordLocked(e)
		s.mu.Unlock()
		rec.Epoch, rec.LeaseUntil = epoch, time.Now()
		_, err := s.recs.update(context.Background(), rec, rev)
		if err == nil {
			s.mu.Lock()
			e.recorded = true
			s.mu.Unlock()
			return
		}
		if !errors.Is(err, persistence.ErrStaleRevision) {
			s.log.Warn("job end not recorded; trying again", "job", e.id, "err", err)
			select { // the store is down: back off, unless the node stops
			case <-time.After(s.timing.Renew):
			case <-s.stop:
				return
			}
			continue
		}
		cur, curRev, gerr := s.recs.get(context.Background(), e.id)
		switch {
		case errors.Is(gerr, persistence.ErrRecordNotFound):
			s.fence(e, fmt.Errorf("its record is gone: another node ended the job, and its record was removed since"))
			return
		case gerr != nil:
			s.log.Warn("job record unreadable after a refused end; trying again", "job", e.id, "err", gerr)
			select { // as for a store that is down
			case <-time.After(s.timing.Renew):
			case <-s.stop:
				return
			}
			continue
		case cur.Owner != s.self || cur.Epoch != epoch:
			// Taken over meanwhile: the end is the new owner's to write.
			// Give the entry up as a refused renewal does, or it stays
			// "run here" for good and this node, coordinating, never
			// takes the job over again.
			s.fence(e, fmt.Errorf("node %s took the job over at epoch %d", cur.Owner, cur.Epoch))
			return
		}
		e.lease.setRev(curRev)
	}
	s.log.Error("job end not recorded: the job store kept refusing", "job", e.id)
}
