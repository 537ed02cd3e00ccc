package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/persistence"
)

// jobRecord is what the job store keeps of one job, as JSON under its id:
// enough for any node to answer for the job and to take it over. Owner
// and Epoch say which job master runs it; LeaseUntil is the owner's
// promise, renewed while it runs the job, that nobody else may take the
// job over before that time. Every write is a compare-and-set on the
// record's revision, so two nodes never both believe they own a job at
// one epoch.
type jobRecord struct {
	ID         string     `json:"id"`
	Request    JobRequest `json:"request"`
	Submitted  time.Time  `json:"submitted"`
	Owner      string     `json:"owner"`
	Epoch      uint64     `json:"epoch"`
	LeaseUntil time.Time  `json:"leaseUntil"`
	// State is StateWaitingForSlots or StateRunning while the job lives,
	// then one of the terminal states.
	State   string    `json:"state"`
	Ended   time.Time `json:"ended,omitzero"`
	Failure string    `json:"failure,omitempty"`
	// Restarts counts the job's restarts under every owner so far,
	// takeovers included.
	Restarts         int             `json:"restarts"`
	LatestCheckpoint *CheckpointInfo `json:"latestCheckpoint,omitempty"`
	// StoppedWithSavepoint: a stop with savepoint ended the job.
	StoppedWithSavepoint bool `json:"stoppedWithSavepoint,omitempty"`
	// CancelRequested: a node that does not own the job was asked to
	// cancel it; the owner (or whoever takes it over) cancels it.
	CancelRequested bool `json:"cancelRequested,omitempty"`
}

// terminal reports whether the record's job has ended.
func (r *jobRecord) terminal() bool { return terminalState(r.State) }

func terminalState(s string) bool {
	return s == StateFinished || s == StateFailed || s == StateCancelled
}

// status is what the API shows of a job known only by its record.
func (r *jobRecord) status() JobStatus {
	return JobStatus{ID: r.ID, Pipeline: r.Request.Pipeline, Params: r.Request.Params, State: r.State,
		Submitted: r.Submitted, Ended: r.Ended, Restarts: r.Restarts, Failure: r.Failure,
		LatestCheckpoint: r.LatestCheckpoint, Owner: r.Owner}
}

// records reads and writes job records in a JobStore.
type records struct {
	store JobStore
}

func (rs records) get(ctx context.Context, id string) (*jobRecord, uint64, error) {
	b, rev, err := rs.store.Get(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	r, err := decodeRecord(id, b)
	return r, rev, err
}

func decodeRecord(id string, b []byte) (*jobRecord, error) {
	var r jobRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("cluster: job record %q: %w", id, err)
	}
	if r.ID != id {
		return nil, fmt.Errorf("cluster: job record under %q names job %q", id, r.ID)
	}
	return &r, nil
}

func (rs records) create(ctx context.Context, r *jobRecord) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	return rs.store.Create(ctx, r.ID, b)
}

func (rs records) remove(ctx context.Context, id string, rev uint64) error {
	return rs.store.Delete(ctx, id, rev)
}

func (rs records) update(ctx context.Context, r *jobRecord, rev uint64) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	return rs.store.Update(ctx, r.ID, b, rev)
}

// all returns every record that can be read; one that cannot is logged
// by the caller through errs, never dropped silently. A record deleted
// between the listing and its read (an ended job's, compacted) is
// skipped.
func (rs records) all(ctx context.Context) (out []*jobRecord, revs []uint64, errs []error) {
	keys, err := rs.store.Keys(ctx)
	if err != nil {
		return nil, nil, []error{fmt.Errorf("cluster: list job records: %w", err)}
	}
	for _, k := range keys {
		r, rev, err := rs.get(ctx, k)
		if errors.Is(err, persistence.ErrRecordNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out, revs = append(out, r), append(revs, rev)
	}
	return out, revs, errs
}
