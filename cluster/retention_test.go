package cluster

import (
	"context"
	"errors"
	"slices"
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

// The policy: ended jobs beyond the newest MaxCount, or ended before
// now-Expiration, are forgotten; ties in end time go by id.
func TestEndedJobs_expired(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	jobs := []ended{{"a", now.Add(-time.Minute)}, {"b", now.Add(-3 * time.Minute)}, {"c", now.Add(-2 * time.Minute)},
		{"d", now.Add(-2 * time.Hour)}, {"e", now.Add(-2 * time.Minute)}}
	for _, tt := range []struct {
		r    EndedJobs
		want []string
	}{
		{EndedJobs{}, []string{"d"}}, // the defaults: an hour, 1000 jobs
		{EndedJobs{MaxCount: 3}, []string{"b", "d"}},
		{EndedJobs{MaxCount: 2}, []string{"e", "b", "d"}},
		{EndedJobs{MaxCount: 10, Expiration: 150 * time.Second}, []string{"b", "d"}},
		{EndedJobs{MaxCount: 1, Expiration: 30 * time.Second}, []string{"a", "c", "e", "b", "d"}},
	} {
		got := tt.r.expired(slices.Clone(jobs), now)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%+v: forgets %v, want %v", tt.r, got, tt.want)
		}
	}
	for _, bad := range []EndedJobs{{MaxCount: -1}, {Expiration: -time.Second}} {
		if err := bad.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", bad, err)
		}
	}
	if err := (EndedJobs{}).Validate(); err != nil {
		t.Errorf("the zero value (defaults): %v", err)
	}
}

// startRetentionNode starts a node on store that keeps at most maxCount
// ended jobs.
func startRetentionNode(t *testing.T, store Store, maxCount int) *Node {
	t.Helper()
	ecfg := actors.DefaultConfig()
	ecfg.Logger = actors.QuietLogger()
	n, err := StartNode(context.Background(), NodeConfig{Name: "n1", ActorAddr: "127.0.0.1:0", GossipAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:1", Slots: 2, Store: store, Timing: LocalTiming(), Engine: ecfg,
		Registry: review12Registry(), EndedJobs: EndedJobs{MaxCount: maxCount}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	review12Poll(t, 10*time.Second, "the node to coordinate", n.coordinates)
	return n
}

// With MaxCount 2, of five jobs run one after the other only the two
// that ended last are kept — in the store, in the API and among the
// node's job handles (metrics) — while a job that still runs is kept
// whatever the count.
func TestEndedJobs_maxCount(t *testing.T) {
	for _, st := range retentionStores {
		t.Run(st.name, func(t *testing.T) {
			store := st.open(t)
			n := startRetentionNode(t, store, 2)
			ctx := context.Background()
			var ids []string
			for range 5 {
				id, err := n.Submit(ctx, JobRequest{Pipeline: "review12", Params: map[string]string{"count": "20"}})
				if err != nil {
					t.Fatal(err)
				}
				review12Poll(t, 30*time.Second, "job "+id+" to finish and be recorded", func() bool {
					rec, _, err := (records{store: store.Jobs()}).get(ctx, id)
					return err == nil && rec.State == StateFinished
				})
				ids = append(ids, id)
			}
			live, err := n.Submit(ctx, JobRequest{Pipeline: "review12", Params: map[string]string{"count": "1000000", "rate": "100"}})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Cancel(ctx, live)
			keep := []string{ids[3], ids[4], live}
			review12Poll(t, 10*time.Second, "the records of the first three jobs to be removed", func() bool {
				keys, err := store.Jobs().Keys(ctx)
				slices.Sort(keys)
				want := slices.Sorted(slices.Values(keep))
				return err == nil && slices.Equal(keys, want)
			})
			review12Poll(t, 10*time.Second, "the node to forget the first three jobs", func() bool {
				jobs, err := n.Jobs(ctx)
				var got []string
				for _, j := range jobs {
					got = append(got, j.ID)
				}
				return err == nil && slices.Equal(got, keep) && len(n.JobHandles()) == 3
			})
			for _, id := range ids[:3] {
				if _, err := n.Job(ctx, id); !errors.Is(err, ErrUnknownJob) {
					t.Errorf("forgotten job %s: %v, want ErrUnknownJob", id, err)
				}
			}
		})
	}
}
