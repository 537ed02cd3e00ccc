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
)

// A repeated commit is late once the window less a tenth has passed since
// the latest pre-commit of its writer's transactions in the checkpoint;
// transactions without a time are counted, never late.
func TestLateCommits(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	window := 100 * time.Second
	at := func(writer string, ago time.Duration) *txn {
		return &txn{Writer: writer, PreCommitted: now.Add(-ago)}
	}
	old, recent := at("a", time.Hour), at("a", time.Second)
	cases := []struct {
		name    string
		txns    []*txn
		late    []int // indexes into txns
		unknown int
	}{
		{"in time", []*txn{recent}, nil, 0},
		{"just before the margin", []*txn{at("a", 89*time.Second)}, nil, 0},
		{"at the margin", []*txn{at("a", 90*time.Second)}, []int{0}, 0},
		{"past the window", []*txn{old}, []int{0}, 0},
		// Checkpoints failed for an hour, then one completed: its commit of
		// both epochs came after the recent snapshot.
		{"an old epoch with a recent one", []*txn{old, recent}, nil, 0},
		{"writers apart", []*txn{old, at("b", time.Second)}, []int{0}, 0},
		{"no time", []*txn{{Writer: "v1"}}, nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			late, unknown := lateCommits(c.txns, now, window)
			var want []*txn
			for _, i := range c.late {
				want = append(want, c.txns[i])
			}
			if !slices.Equal(late, want) || unknown != c.unknown {
				t.Errorf("%d late, %d unknown; want transactions %v late, %d unknown", len(late), unknown, c.late, c.unknown)
			}
		})
	}
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
			s := jstest.RunServer(t)
			s.CreateStreamWith(t, jetstream.StreamConfig{Name: "OUT", Subjects: []string{"out"}, Duplicates: time.Minute})
			clock := time.Unix(2_000_000_000, 0)
			open := func() *txnWriter[event] {
				cfg, err := SinkConfig[event]{URL: s.URL(), Stream: "OUT", LateCommit: c.policy,
					Codec: operators.JSONCodec[event]{}}.withDefaults(operators.Stream[event]{})
				if err != nil {
					t.Fatal(err)
				}
				var slot error
				tc := operators.NewTaskContext(operators.TaskInfo{Job: "late", Operator: "out", Parallelism: 1}, nil, func() {}, &slot)
				tc.Checkpointing, tc.Now = true, func() time.Time { return clock }
				w, err := openWriter(tc, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = w.(*txnWriter[event]).Close() })
				return w.(*txnWriter[event])
			}
			w1 := open()
			for i := range 10 {
				if err := w1.Write(event{Key: "a", N: i + 1}, 0); err != nil {
					t.Fatal(err)
				}
			}
			snap, err := w1.SnapshotState(1)
			if err != nil {
				t.Fatal(err)
			}
			_ = w1.Close() // dies before the commit

			clock = clock.Add(c.after)
			err = open().RestoreState([]*operators.OperatorState{snap})
			if c.err == nil && err != nil {
				t.Fatalf("restore: %v", err)
			}
			if c.err != nil && (!errors.Is(err, c.err) || !errors.Is(err, operators.ErrRestore) ||
				!strings.Contains(err.Error(), "stream OUT") || !strings.Contains(err.Error(), "checkpoint 1") ||
				!strings.Contains(err.Error(), "duplicate window is 1m0s")) {
				t.Fatalf("restore: %v; want an error wrapping %v and ErrRestore naming stream OUT, checkpoint 1 and the window", err, c.err)
			}
			info, err := reviewStream(t, s, "OUT").Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if info.State.Msgs != c.stored {
				t.Errorf("the stream holds %d messages, want %d", info.State.Msgs, c.stored)
			}
		})
	}
}
