package jetstream

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/operators/jetstream/jstest"
	"github.com/troupe-dev/troupe/persistence"
)

// A repeated commit is late once the window less a tenth has passed since
// the snapshot of its writer in the checkpoint, whatever the age of the
// epoch; transactions without a snapshot time are counted, never late.
func TestLateCommits(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	window := 100 * time.Second
	a, b, v1 := &txn{Writer: "a"}, &txn{Writer: "b"}, &txn{Writer: "v1"}
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	cases := []struct {
		name      string
		txns      []*txn
		snapshots map[string]time.Time
		late      []*txn
		unknown   int
	}{
		{"in time", []*txn{a}, map[string]time.Time{"a": ago(time.Second)}, nil, 0},
		{"just before the margin", []*txn{a}, map[string]time.Time{"a": ago(89 * time.Second)}, nil, 0},
		{"at the margin", []*txn{a}, map[string]time.Time{"a": ago(90 * time.Second)}, []*txn{a}, 0},
		{"past the window", []*txn{a}, map[string]time.Time{"a": ago(time.Hour)}, []*txn{a}, 0},
		{"writers apart", []*txn{a, b}, map[string]time.Time{"a": ago(time.Hour), "b": ago(time.Second)}, []*txn{a}, 0},
		{"no snapshot time", []*txn{v1, a}, map[string]time.Time{"a": ago(time.Second)}, nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			late, unknown := lateCommits(c.txns, c.snapshots, now, window)
			if !slices.Equal(late, c.late) || unknown != c.unknown {
				t.Errorf("%d late, %d unknown; want %d late, %d unknown", len(late), unknown, len(c.late), c.unknown)
			}
		})
	}
}

// openClockedWriter opens an exactly-once sink subtask on stream OUT of
// s whose clock is *clock.
func openClockedWriter(t *testing.T, s *jstest.Server, policy LateCommit, clock *time.Time, subtask, parallelism int) *txnWriter[event] {
	t.Helper()
	cfg, err := SinkConfig[event]{URL: s.URL(), Stream: "OUT", LateCommit: policy,
		Codec: operators.JSONCodec[event]{}}.withDefaults(operators.Stream[event]{})
	if err != nil {
		t.Fatal(err)
	}
	var slot error
	tc := operators.NewTaskContext(operators.TaskInfo{Job: "late", Operator: "out", Subtask: subtask, Parallelism: parallelism},
		nil, func() {}, &slot)
	tc.Checkpointing, tc.Now = true, func() time.Time { return *clock }
	w, err := openWriter(tc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tw := w.(*txnWriter[event])
	t.Cleanup(func() { _ = tw.Close() })
	return tw
}

// lateStream runs a server with stream OUT, whose duplicate window is a
// minute.
func lateStream(t *testing.T) *jstest.Server {
	s := jstest.RunServer(t)
	s.CreateStreamWith(t, jetstream.StreamConfig{Name: "OUT", Subjects: []string{"out"}, Duplicates: time.Minute})
	return s
}

func writeEvents(t *testing.T, w *txnWriter[event], n int) {
	t.Helper()
	for i := range n {
		if err := w.Write(event{Key: "a", N: i + 1}, 0); err != nil {
			t.Fatal(err)
		}
	}
}

func storedIn(t *testing.T, s *jstest.Server) uint64 {
	t.Helper()
	info, err := reviewStream(t, s, "OUT").Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// A restore finds checkpoint 1's transaction (never committed) two
// minutes after its pre-commit, on a stream with a one-minute window:
// each policy does what it says, and nothing is decided without it.
func TestTxnWriter_lateCommitPolicies(t *testing.T) {
	cases := []struct {
		policy LateCommit
		after  time.Duration
		stored uint64
		err    error
	}{
		{FailLateCommit, 30 * time.Second, 10, nil}, // in time: committed
		{FailLateCommit, 2 * time.Minute, 0, ErrLateCommit},
		{RepublishLateCommit, 2 * time.Minute, 10, nil},
		{SkipLateCommit, 2 * time.Minute, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.policy.String()+" after "+c.after.String(), func(t *testing.T) {
			s := lateStream(t)
			clock := time.Unix(2_000_000_000, 0)
			w1 := openClockedWriter(t, s, c.policy, &clock, 0, 1)
			writeEvents(t, w1, 10)
			snap, err := w1.SnapshotState(1)
			if err != nil {
				t.Fatal(err)
			}
			_ = w1.Close() // dies before the commit

			clock = clock.Add(c.after)
			err = openClockedWriter(t, s, c.policy, &clock, 0, 1).RestoreState([]*operators.OperatorState{snap})
			if c.err == nil && err != nil {
				t.Fatalf("restore: %v", err)
			}
			if c.err != nil && (!errors.Is(err, c.err) || !errors.Is(err, operators.ErrRestore) ||
				!strings.Contains(err.Error(), "stream OUT") || !strings.Contains(err.Error(), "checkpoint 1") ||
				!strings.Contains(err.Error(), "duplicate window is 1m0s")) {
				t.Fatalf("restore: %v; want an error wrapping %v and ErrRestore naming stream OUT, checkpoint 1 and the window", err, c.err)
			}
			if n := storedIn(t, s); n != c.stored {
				t.Errorf("the stream holds %d messages, want %d", n, c.stored)
			}
		})
	}
}

// Checkpoints fail for two minutes after checkpoint 1 (its completion
// never comes); checkpoint 2, whose epoch has no records, completes, and
// the job dies before it commits: the restore of checkpoint 2 commits
// epoch 1 in time — its first commit could only have come after snapshot
// 2, however old the epoch.
func TestTxnWriter_lateCountsFromTheSnapshot(t *testing.T) {
	s := lateStream(t)
	clock := time.Unix(2_000_000_000, 0)
	w1 := openClockedWriter(t, s, FailLateCommit, &clock, 0, 1)
	writeEvents(t, w1, 10)
	if _, err := w1.SnapshotState(1); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Minute)
	snap, err := w1.SnapshotState(2)
	if err != nil {
		t.Fatal(err)
	}
	_ = w1.Close()
	clock = clock.Add(10 * time.Second)
	if err := openClockedWriter(t, s, FailLateCommit, &clock, 0, 1).RestoreState([]*operators.OperatorState{snap}); err != nil {
		t.Fatalf("restore 10s after checkpoint 2's snapshot: %v, want epoch 1 committed", err)
	}
	if n := storedIn(t, s); n != 10 {
		t.Errorf("the stream holds %d messages, want epoch 1's 10", n)
	}
}

// At another parallelism the transactions are dealt and the snapshot
// times go to every subtask: each restored subtask judges the
// transactions it got by their own writer's snapshot.
func TestTxnWriter_lateAfterRescale(t *testing.T) {
	for _, c := range []struct {
		after time.Duration
		late  bool
	}{{10 * time.Second, false}, {2 * time.Minute, true}} {
		t.Run(c.after.String(), func(t *testing.T) {
			s := lateStream(t)
			clock := time.Unix(2_000_000_000, 0)
			var snaps []*persistence.OperatorSnapshot
			for i := range 2 {
				w := openClockedWriter(t, s, FailLateCommit, &clock, i, 2)
				writeEvents(t, w, 5)
				st, err := w.SnapshotState(1)
				if err != nil {
					t.Fatal(err)
				}
				snaps = append(snaps, st.Operator)
				_ = w.Close()
			}
			clock = clock.Add(c.after)
			var late int
			for i, part := range persistence.Redistribute(snaps, 3) {
				err := openClockedWriter(t, s, FailLateCommit, &clock, i, 3).RestoreState([]*operators.OperatorState{{Operator: part}})
				switch {
				case errors.Is(err, ErrLateCommit):
					late++
				case err != nil:
					t.Fatalf("subtask %d: %v", i, err)
				}
			}
			want, stored := 0, uint64(10)
			if c.late {
				want, stored = 2, 0 // the two subtasks that got a transaction
			}
			if late != want || storedIn(t, s) != stored {
				t.Errorf("%d restored subtasks found their transaction late and the stream holds %d messages; want %d and %d",
					late, storedIn(t, s), want, stored)
			}
		})
	}
}
