package jetstream

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// txnList names the exactly-once sink's operator list state: its
// transactions not yet committed. At the same parallelism each subtask
// gets its own back; on a rescale they are dealt round robin, and each is
// committed under the IDs it was made with, whoever commits it.
const txnList = "transactions"

// snapshotsUnion names the exactly-once sink's union list state: each
// subtask adds a snapshotMark, so that every restored subtask knows when
// each transaction's checkpoint was taken, whichever subtask it comes
// from (on a rescale the transactions are dealt, the union is whole).
// Checkpoints of versions before it lack it.
const snapshotsUnion = "snapshots"

// snapshotMark is when a sink subtask's run (its writer) took a snapshot.
type snapshotMark struct {
	Writer string    `json:"writer"`
	Time   time.Time `json:"time"`
}

// txnWriter is the exactly-once JetStream sink of one subtask (see
// ToJetStream). Its methods are called from the subtask's goroutine.
type txnWriter[T any] struct {
	tc        *operators.TaskContext
	pub       *publisher
	enc       encoder[T]
	writer    string  // this run's ID in message IDs (newWriterID)
	epoch     *txn    // the current epoch's records; nil until the first
	pending   []*txn  // pre-committed, in checkpoint order
	committed []int64 // checkpoints whose transactions are published, not yet settled
	lastBytes int     // the size of the last epoch, and a little more
	lastMsgs  int
	hooks     *sinkHooks
	window    time.Duration // the stream's duplicate window, when the writer opened
	late      LateCommit
}

var (
	_ operators.SinkWriter[int]    = (*txnWriter[int])(nil)
	_ operators.Snapshotter        = (*txnWriter[int])(nil)
	_ operators.Restorer           = (*txnWriter[int])(nil)
	_ operators.CheckpointListener = (*txnWriter[int])(nil)
	_ operators.EndInputer         = (*txnWriter[int])(nil)
	_ operators.Closer             = (*txnWriter[int])(nil)
)

// Write stages v in the epoch's transaction, encoded straight into it.
func (w *txnWriter[T]) Write(v T, _ int64) error {
	if w.epoch == nil {
		// Sized like the last epoch, so that it does not grow by copies.
		w.epoch = newTxn(w.writer, w.tc.Subtask, w.lastBytes, w.lastMsgs)
	}
	t := w.epoch
	mark := t.begin(w.enc.subjectOf(v))
	var err error
	if t.enc, err = w.enc.codec.Append(t.enc, v); err != nil {
		t.abort(mark)
		return fmt.Errorf("stream %s: encode %T: %w", w.pub.stream, v, err)
	}
	t.end(mark)
	return nil
}

// SnapshotState first waits until the messages of the transactions
// committed so far are stored (see commit), then pre-commits the epoch
// that checkpoint id ends (it becomes a pending transaction) and stores
// every pending transaction, and the time of the snapshot (see
// snapshotsUnion).
func (w *txnWriter[T]) SnapshotState(id int64) (*operators.OperatorState, error) {
	if err := w.settle(); err != nil {
		return nil, err
	}
	w.preCommit(id)
	list := make([][]byte, 0, len(w.pending))
	for _, t := range w.pending {
		list = append(list, t.encoded())
	}
	mark, err := json.Marshal(snapshotMark{Writer: w.writer, Time: w.tc.Now()})
	if err != nil {
		return nil, fmt.Errorf("stream %s: encode the snapshot time: %w", w.pub.stream, err)
	}
	return &operators.OperatorState{Operator: &persistence.OperatorSnapshot{
		Lists: map[string][][]byte{txnList: list},
		Union: map[string][][]byte{snapshotsUnion: {mark}},
	}}, nil
}

func (w *txnWriter[T]) preCommit(id int64) {
	if w.epoch == nil {
		return // an epoch without records has no transaction
	}
	w.epoch.close(id)
	w.lastBytes, w.lastMsgs = len(w.epoch.enc)+len(w.epoch.enc)/8, len(w.epoch.msgs)+len(w.epoch.msgs)/8
	w.pending = append(w.pending, w.epoch)
	w.epoch = nil
}

// NotifyCheckpointComplete commits every pending transaction of a
// checkpoint up to id, in order. The last one (the end of the job) is
// waited for; the others are settled by the next snapshot.
func (w *txnWriter[T]) NotifyCheckpointComplete(id int64) error {
	n := 0
	for _, t := range w.pending {
		if t.Checkpoint > id {
			break
		}
		if err := w.commit(t); err != nil {
			w.pending = w.pending[n:]
			return err
		}
		n++
	}
	clear(w.pending[:n])
	w.pending = w.pending[n:]
	if id == operators.EndOfJob {
		return w.settle()
	}
	return nil
}

// EndInput pre-commits the last epoch, committed when the whole job has
// finished (operators.EndOfJob).
func (w *txnWriter[T]) EndInput() error {
	w.preCommit(operators.EndOfJob)
	return nil
}

// RestoreState commits the transactions of the restored checkpoint: it is
// complete, so they must be in the stream, whether or not the failed run
// published them (in part or in full). Their message IDs make the server
// drop the copies it has already stored. It returns once all are stored.
// Transactions whose repeated commit may come after the stream's
// duplicate window (see lateCommits) are first dealt with by the
// LateCommit policy, before anything is published.
func (w *txnWriter[T]) RestoreState(parts []*operators.OperatorState) error {
	var txns []*txn
	snapshots := map[string]time.Time{}
	for _, p := range parts {
		if p == nil || p.Operator == nil {
			continue
		}
		for _, b := range p.Operator.Lists[txnList] {
			t, err := decodeTxn(b)
			if err != nil {
				return fmt.Errorf("%w: stream %s: pending transaction: %v", operators.ErrRestore, w.pub.stream, err)
			}
			txns = append(txns, t)
		}
		for _, b := range p.Operator.Union[snapshotsUnion] {
			var m snapshotMark
			if err := json.Unmarshal(b, &m); err != nil {
				return fmt.Errorf("%w: stream %s: snapshot time: %v", operators.ErrRestore, w.pub.stream, err)
			}
			if m.Time.After(snapshots[m.Writer]) {
				snapshots[m.Writer] = m.Time
			}
		}
	}
	skip, err := w.checkLate(txns, snapshots)
	if err != nil {
		return err
	}
	for _, t := range txns {
		if skip[t] {
			continue
		}
		if err := w.commit(t); err != nil {
			return err
		}
	}
	return w.settle()
}

// commit publishes a transaction's messages with their IDs. It does not
// wait for the acknowledgements, so that the next epoch's records flow
// meanwhile: the next snapshot waits for them (settle) before it stores
// the sink's state, so a checkpoint that no longer holds a transaction
// is never complete before all its messages are stored. A failure leaves
// the transaction pending (or, found by settle, fails the checkpoint);
// the restore that follows commits it again.
func (w *txnWriter[T]) commit(t *txn) error {
	for i := range t.count() {
		subject, data := t.msg(i)
		if err := w.pub.publish(subject, data, t.msgID(i)); err != nil {
			return w.commitErr(t, err)
		}
		if w.hooks != nil && w.hooks.published != nil {
			if err := w.hooks.published(t.Checkpoint, i); err != nil {
				return w.commitErr(t, err)
			}
		}
	}
	w.committed = append(w.committed, t.Checkpoint)
	return nil
}

// settle waits until the messages of the transactions committed since the
// last settle are stored, or recognised as duplicates by the server.
func (w *txnWriter[T]) settle() error {
	if len(w.committed) == 0 {
		return nil
	}
	err := w.pub.wait()
	if err != nil {
		return fmt.Errorf("commit of checkpoints %v: %w", w.committedNames(), err)
	}
	stored, dups := w.pub.counts()
	if dups > 0 {
		w.tc.Logger.Info("jetstream sink: a repeated commit was de-duplicated", "stream", w.pub.stream,
			"checkpoints", w.committedNames(), "stored", stored, "duplicates", dups)
	}
	if w.hooks != nil && w.hooks.committed != nil {
		w.hooks.committed(w.committed, stored, dups)
	}
	w.committed = w.committed[:0]
	return nil
}

func (w *txnWriter[T]) committedNames() []string {
	names := make([]string, len(w.committed))
	for i, id := range w.committed {
		names[i] = checkpointName(id)
	}
	return names
}

func (w *txnWriter[T]) commitErr(t *txn, err error) error {
	return fmt.Errorf("commit of checkpoint %s (subtask %d): %w", checkpointName(t.Checkpoint), t.Subtask, err)
}

// Close discards the epoch that no checkpoint ended: the job failed or
// was cancelled, and a restore replays it. Pending transactions stay in
// their checkpoints. The connection is closed; Close is safe to call
// more than once.
func (w *txnWriter[T]) Close() error {
	w.epoch = nil
	w.pub.c.close()
	return nil
}

func checkpointName(id int64) string {
	if id == operators.EndOfJob {
		return "end-of-job"
	}
	return strconv.FormatInt(id, 10)
}
