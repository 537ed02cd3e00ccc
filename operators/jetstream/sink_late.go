package jetstream

import (
	"fmt"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

// lateMargin is the share of the duplicate window that a restore keeps
// in hand: a repeated commit counts as late once the window less a tenth
// has passed. The tenth covers the difference between the clocks of the
// node that pre-committed and the one that restores (the window itself
// runs on the server's clock, from when it stored each message) and the
// time the repeated commit takes to publish.
const lateMargin = 10

// lateCommits returns the transactions, of those a restore must commit
// again, whose repeated commit at now may come after the stream's
// duplicate window has passed since their first commit; unknown counts
// the transactions whose age is not known (written before transactions
// kept their pre-commit time), which are taken as in time.
//
// The first commit of a transaction came after the snapshot of the
// checkpoint that holds it: until then the transaction was pending in
// its sink subtask (a commit takes it out of the pending ones), and that
// snapshot is at or after the pre-commit of every transaction the
// subtask then held. So the latest pre-commit time among the
// transactions of one sink subtask's run (its writer) bounds the first
// commit of each of them from below — tighter than each one's own time
// when checkpoints failed for a while and one completed later, which
// committed several epochs at once.
func lateCommits(txns []*txn, now time.Time, window time.Duration) (late []*txn, unknown int) {
	since := map[string]time.Time{} // by writer: the earliest the first commit can have been
	for _, t := range txns {
		if t.PreCommitted.After(since[t.Writer]) {
			since[t.Writer] = t.PreCommitted
		}
	}
	for _, t := range txns {
		first := since[t.Writer]
		switch {
		case first.IsZero():
			unknown++
		case now.Sub(first) >= window-window/lateMargin:
			late = append(late, t)
		}
	}
	return late, unknown
}

// checkLate applies the writer's LateCommit policy to the restored
// transactions whose repeated commit may be late; it returns those not
// to commit again (SkipLateCommit), or the error of FailLateCommit.
func (w *txnWriter[T]) checkLate(txns []*txn) (map[*txn]bool, error) {
	now := w.tc.Now()
	late, unknown := lateCommits(txns, now, w.window)
	if unknown > 0 {
		w.tc.Logger.Warn("jetstream sink: restored transactions of an older version have no pre-commit time: "+
			"committed again without checking the duplicate window", "stream", w.pub.stream, "transactions", unknown)
	}
	if len(late) == 0 {
		return nil, nil
	}
	if w.late == FailLateCommit {
		return nil, w.lateErr(late[0], now)
	}
	skip := map[*txn]bool{}
	for _, t := range late {
		w.tc.Logger.Warn("jetstream sink: a restored transaction's commit is repeated after the stream's duplicate window may have passed",
			"stream", w.pub.stream, "checkpoint", checkpointName(t.Checkpoint), "subtask", t.Subtask, "messages", t.count(),
			"pre_committed", t.PreCommitted, "window", w.window, "policy", w.late.String())
		skip[t] = w.late == SkipLateCommit
	}
	return skip, nil
}

func (w *txnWriter[T]) lateErr(t *txn, now time.Time) error {
	return fmt.Errorf("%w: %w: stream %s: the transaction of checkpoint %s (sink subtask %d, %d messages) was pre-committed "+
		"%v ago (%s) and the stream's duplicate window is %v: the server may have forgotten the message IDs of its first "+
		"commit, and publishing it again could store its messages twice. Restore a later checkpoint, or set SinkConfig.LateCommit "+
		"(late-commit= in a nats:// URL) to republish (duplicates possible) or skip (losses possible)",
		operators.ErrRestore, ErrLateCommit, w.pub.stream, checkpointName(t.Checkpoint), t.Subtask, t.count(),
		now.Sub(t.PreCommitted).Round(time.Millisecond), t.PreCommitted.UTC().Format(time.RFC3339Nano), w.window)
}
