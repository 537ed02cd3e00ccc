package jetstream

import (
	"fmt"

	"github.com/troupe-dev/troupe/operators"
)

// directWriter is the at-least-once JetStream sink of one subtask:
// records are published at once, and a checkpoint (or the end of input)
// waits until the server has stored everything published before it. Its
// methods are called from the subtask's goroutine.
type directWriter[T any] struct {
	tc      *operators.TaskContext
	pub     *publisher
	enc     encoder[T]
	scratch []byte
}

var (
	_ operators.SinkWriter[int] = (*directWriter[int])(nil)
	_ operators.BatchEnder      = (*directWriter[int])(nil)
	_ operators.Snapshotter     = (*directWriter[int])(nil)
	_ operators.EndInputer      = (*directWriter[int])(nil)
	_ operators.Closer          = (*directWriter[int])(nil)
)

// Write publishes v. The payload is a copy: nats.go keeps it until the
// server acknowledges it, for retries.
func (w *directWriter[T]) Write(v T, _ int64) error {
	var err error
	if w.scratch, err = w.enc.codec.Append(w.scratch[:0], v); err != nil {
		return fmt.Errorf("stream %s: encode %T: %w", w.pub.stream, v, err)
	}
	return w.pub.publish(w.enc.subjectOf(v), append([]byte(nil), w.scratch...), "")
}

// BatchEnd fails the subtask if the server has refused a message, so
// that a refusal is reported soon rather than at the next checkpoint.
func (w *directWriter[T]) BatchEnd() {
	if err := w.pub.failed(); err != nil {
		w.tc.Fail(err)
	}
}

// SnapshotState waits until everything published before the barrier is
// stored: what the checkpoint counts as written is in the stream. The
// sink has no state of its own.
func (w *directWriter[T]) SnapshotState(id int64) (*operators.OperatorState, error) {
	if err := w.pub.wait(); err != nil {
		return nil, fmt.Errorf("flush for checkpoint %d: %w", id, err)
	}
	return nil, nil
}

// EndInput waits until everything is stored.
func (w *directWriter[T]) EndInput() error { return w.pub.wait() }

// Close closes the connection; messages still unacknowledged may or may
// not be stored. It is safe to call more than once.
func (w *directWriter[T]) Close() error {
	w.pub.c.close()
	return nil
}
