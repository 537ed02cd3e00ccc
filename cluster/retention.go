package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/troupe-dev/troupe/persistence"
)

// EndedJobs says how long a cluster keeps the jobs that have ended
// (finished, failed, cancelled): their records in the job store, and
// their entries in the memory of the node that ran them. As Flink's job
// store keeps finished jobs for its web UI and REST API
// (jobstore.expiration-time, jobstore.max-capacity), a job is forgotten
// once it ended more than Expiration ago, or once MaxCount jobs that
// ended after it are kept — whichever comes first. A forgotten job is
// unknown to the API (404), its checkpoints and savepoints stay in the
// store. Zero fields take DefaultEndedJobs's values.
type EndedJobs struct {
	// MaxCount is how many ended jobs are kept at most, the newest (by
	// end time). At least 1.
	MaxCount int
	// Expiration is how long after its end a job is kept. Positive.
	Expiration time.Duration
}

// Defaults of EndedJobs: Flink's expiration (one hour), and at most 1000
// jobs (Flink keeps any number), so that a cluster that runs many short
// jobs keeps a bounded store.
const (
	DefaultEndedJobsMaxCount   = 1000
	DefaultEndedJobsExpiration = time.Hour
)

// DefaultEndedJobs returns the default retention of ended jobs.
func DefaultEndedJobs() EndedJobs {
	return EndedJobs{MaxCount: DefaultEndedJobsMaxCount, Expiration: DefaultEndedJobsExpiration}
}

func (r EndedJobs) withDefaults() EndedJobs {
	if r.MaxCount == 0 {
		r.MaxCount = DefaultEndedJobsMaxCount
	}
	if r.Expiration == 0 {
		r.Expiration = DefaultEndedJobsExpiration
	}
	return r
}

// Validate checks r as given (zero fields stand for the defaults); the
// error wraps ErrConfig and names the field.
func (r EndedJobs) Validate() error {
	switch {
	case r.MaxCount < 0:
		return fmt.Errorf("%w: EndedJobs.MaxCount %d: want at least 1 (0 for the default, %d)", ErrConfig, r.MaxCount, DefaultEndedJobsMaxCount)
	case r.Expiration < 0:
		return fmt.Errorf("%w: EndedJobs.Expiration %v: want a positive duration (0 for the default, %v)", ErrConfig, r.Expiration, DefaultEndedJobsExpiration)
	}
	return nil
}

// ended is an ended job as retention sees it: its id and when it ended.
type ended struct {
	id string
	at time.Time
}

// expired returns the ids of the ended jobs to forget at now: those that
// ended before now-Expiration, and those beyond the MaxCount that ended
// last. Ties in end time are broken by id, so that every node picks the
// same.
func (r EndedJobs) expired(jobs []ended, now time.Time) []string {
	r = r.withDefaults()
	slices.SortFunc(jobs, func(a, b ended) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c // newest first
		}
		return cmp.Compare(a.id, b.id)
	})
	cutoff := now.Add(-r.Expiration)
	var out []string
	for i, j := range jobs {
		if i >= r.MaxCount || j.at.Before(cutoff) {
			out = append(out, j.id)
		}
	}
	return out
}

// endedAt is when a record's job ended: Ended, or, for a record without
// it, its submission.
func (r *jobRecord) endedAt() time.Time {
	if !r.Ended.IsZero() {
		return r.Ended
	}
	return r.Submitted
}

// compactRecords removes the records of ended jobs that retention
// forgets, each by compare-and-delete at the revision read (a record
// written since stays, for the next round). The coordinator calls it
// with the records of its takeover scan.
func (s *jobService) compactRecords(ctx context.Context, recs []*jobRecord, revs []uint64, now time.Time) {
	var jobs []ended
	revOf := map[string]uint64{}
	for i, rec := range recs {
		if rec.terminal() {
			jobs = append(jobs, ended{rec.ID, rec.endedAt()})
			revOf[rec.ID] = revs[i]
		}
	}
	removed := 0
	for _, id := range s.retention.expired(jobs, now) {
		err := s.recs.remove(ctx, id, revOf[id])
		switch {
		case err == nil:
			removed++
		case errors.Is(err, persistence.ErrStaleRevision), errors.Is(err, persistence.ErrRecordNotFound):
			// written or removed since: the next round decides
		default:
			s.log.Warn("ended job's record not removed; trying again later", "job", id, "err", err)
		}
	}
	if removed > 0 {
		s.log.Info("removed the records of ended jobs", "jobs", removed, "kept", len(jobs)-removed)
	}
}

// compactLocal forgets the ended jobs this node ran that retention
// forgets: their entries, their job handles (and so their metrics). An
// entry whose end is not recorded yet stays until it is.
func (s *jobService) compactLocal(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetStoppedFencedLocked()
	var jobs []ended
	for _, id := range s.order {
		if e := s.jobs[id]; e != nil && s.forgettableLocked(e) {
			jobs = append(jobs, ended{id, e.ended})
		}
	}
	gone := s.retention.expired(jobs, now)
	if len(gone) == 0 {
		return
	}
	for _, id := range gone {
		delete(s.jobs, id)
	}
	s.order = slices.DeleteFunc(s.order, func(id string) bool { return s.jobs[id] == nil })
}

// forgettableLocked reports whether e has ended and nothing of it is
// still to be written; the service's mu is held.
func (s *jobService) forgettableLocked(e *jobEntry) bool {
	if e.ended.IsZero() || slices.Contains(s.waiting, e) {
		return false
	}
	if e.job != nil && !e.job.State().Terminal() {
		return false
	}
	return e.lease == nil || e.recorded
}

// forgetStoppedFencedLocked forgets the jobs this node lost whose local
// job has stopped: they are kept only so that the node does not take
// one again while it still runs here (mayTakeOver), and one whose
// record has ended is never met by a takeover scan again. The service's
// mu is held.
func (s *jobService) forgetStoppedFencedLocked() {
	for id, f := range s.fenced {
		select {
		case <-f.job.Done():
			delete(s.fenced, id)
		default:
		}
	}
}
