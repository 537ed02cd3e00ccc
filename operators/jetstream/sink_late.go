package jetstream

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// lateMargin is the share of the duplicate window that a restore keeps
// in hand: a repeated commit counts as late once the window less a tenth
// has passed. The tenth covers the difference between the clocks of the
// node that took the snapshot and the one that restores (the window
// itself runs on the server's clock, from when it stored each message)
// and the time the repeated commit takes to publish.
const lateMargin = 10

// lateCommits returns the transactions, of those a restore must commit
// again, whose repeated commit at now may come after the stream's
// duplicate window has passed since their first commit; unknown counts
// the transactions whose checkpoint has no snapshot time for their
// writer (written before the sink kept it), which are taken as in time.
//
// The first commit of a transaction came after the snapshot of the
// checkpoint that holds it: until then the transaction was pending in
// its sink subtask, and a commit takes it out of the pending ones (a
// commit that fails fails the subtask before its next snapshot). So the
// snapshot time of its writer (snapshots) bounds the first commit from
// below — also when checkpoints failed for a while before one completed
// and committed several epochs at once, and when the last epoch had no
// records.
func lateCommits(txns []*txn, snapshots map[string]time.Time, now time.Time, window time.Duration) (late []*txn, unknown int) {
	for _, t := range txns {
		taken, ok := snapshots[t.Writer]
		switch {
		case !ok:
			unknown++
		case now.Sub(taken) >= window-window/lateMargin:
			late = append(late, t)
		}
	}
	return late, unknown
}

// checkLate applies the writer's LateCommit policy to the restored
// transactions whose repeated commit may be late; it returns those not
// to commit again (SkipLateCommit), or the error of FailLateCommit.
func (w *txnWriter[T]) checkLate(txns []*txn, snapshots map[string]time.Time) (map[*txn]bool, error) {
	now := w.tc.Now()
	late, unknown := lateCommits(txns, snapshots, now, w.window)
	if unknown > 0 {
		w.tc.Logger.Warn("jetstream sink: the checkpoint has no snapshot time for some transactions (written by an older version): "+
			"committed again without checking the duplicate window", "stream", w.pub.stream, "transactions", unknown)
	}
	if len(late) == 0 {
		return nil, nil
	}
	if w.late == FailLateCommit {
		t := late[0]
		return nil, w.lateErr(t, snapshots[t.Writer], now)
	}
	skip := map[*txn]bool{}
	for _, t := range late {
		w.tc.Logger.Warn("jetstream sink: a restored transaction's commit is repeated after the stream's duplicate window may have passed",
			"stream", w.pub.stream, "checkpoint", checkpointName(t.Checkpoint), "subtask", t.Subtask, "messages", t.count(),
			"snapshot", snapshots[t.Writer], "window", w.window, "policy", w.late.String())
		skip[t] = w.late == SkipLateCommit
	}
	return skip, nil
}

func (w *txnWriter[T]) lateErr(t *txn, taken, now time.Time) error {
	return fmt.Errorf("%w: %w: stream %s: the transaction of checkpoint %s (sink subtask %d, %d messages) was snapshotted "+
		"%v ago (%s) and the stream's duplicate window is %v: the server may have forgotten the message IDs of its first "+
		"commit, and publishing it again could store its messages twice. Restore a later checkpoint, or set SinkConfig.LateCommit "+
		"(late-commit= in a nats:// URL) to republish (duplicates possible) or skip (losses possible)",
		operators.ErrRestore, ErrLateCommit, w.pub.stream, checkpointName(t.Checkpoint), t.Subtask, t.count(),
		now.Sub(taken).Round(time.Millisecond), taken.UTC().Format(time.RFC3339Nano), w.window)
}
