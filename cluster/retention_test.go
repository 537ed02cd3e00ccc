package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cluster/natsembed"
	"github.com/troupe-dev/troupe/persistence"
)

// Ended jobs' records are compacted: the job store keeps those of jobs
// that ended recently, not every job that ever ended (Flink's job store,
// jobstore.expiration-time and jobstore.max-capacity). On both stores.

// retentionStores open a new store of each kind for a test.
var retentionStores = []struct {
	name string
	open func(t *testing.T) Store
}{
	{"file", func(t *testing.T) Store {
		s, err := OpenFileStore(t.TempDir(), 0)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
	{"nats", func(t *testing.T) Store {
		srv, err := natsembed.Start(natsembed.Config{Name: "test", StoreDir: t.TempDir(), Listen: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		s, err := OpenStore(StoreConfig{URL: srv.ClientURL()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

// endedRecord writes the record of a job that ended at ended, owned by a
// node long gone, and returns its id.
func endedRecord(t *testing.T, store Store, state string, ended time.Time) string {
	t.Helper()
	rec := &jobRecord{ID: actors.NewRunID(), Request: JobRequest{Pipeline: "review12"}, Submitted: ended.Add(-time.Minute),
		Owner: "gone", Epoch: 1, LeaseUntil: ended, State: state, Ended: ended}
	if _, err := (records{store: store.Jobs()}).create(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

func recordExists(t *testing.T, store Store, id string) bool {
	t.Helper()
	_, _, err := store.Jobs().Get(context.Background(), id)
	if err != nil && !errors.Is(err, persistence.ErrRecordNotFound) {
		t.Fatalf("record %s: %v", id, err)
	}
	return err == nil
}

// The record of a job that ended longer ago than the default expiration
// (an hour) is removed by the coordinator; one that ended a minute ago
// stays, and so does the API's view of it.
func TestEndedJobs_expiredRecordIsRemoved(t *testing.T) {
	for _, st := range retentionStores {
		t.Run(st.name, func(t *testing.T) {
			store := st.open(t)
			now := time.Now()
			old := endedRecord(t, store, StateFinished, now.Add(-2*time.Hour))
			recent := endedRecord(t, store, StateCancelled, now.Add(-time.Minute))
			n := startReview12Node(t, "n1", store)
			review12Poll(t, 10*time.Second, "the record of the job that ended 2 h ago to be removed", func() bool {
				return !recordExists(t, store, old)
			})
			if !recordExists(t, store, recent) {
				t.Fatal("the record of the job that ended a minute ago was removed too")
			}
			if _, err := n.Job(context.Background(), recent); err != nil {
				t.Errorf("the job that ended a minute ago: %v", err)
			}
			if _, err := n.Job(context.Background(), old); !errors.Is(err, ErrUnknownJob) {
				t.Errorf("the removed job: %v, want ErrUnknownJob", err)
			}
		})
	}
}
