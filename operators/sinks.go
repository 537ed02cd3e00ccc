package operators

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// SinkWriter receives the records of one sink subtask. It may also
// implement EndInputer, BatchEnder and Closer.
type SinkWriter[T any] interface {
	Write(v T, timestamp int64) error
}

// ToSink adds a sink whose subtasks write through writers that open makes,
// one per subtask. A Write error fails the subtask, naming the sink.
func ToSink[T any](s Stream[T], kind string, open func(tc *TaskContext) (SinkWriter[T], error)) Sink {
	n := s.n.p.addNode(kindSink, kind, nil)
	connect(s, n)
	if open == nil {
		n.p.fail(n, ErrNilFunc)
	}
	n.open = func(tc *TaskContext, _ any) (*instance, error) {
		w, err := open(tc)
		if err != nil {
			return nil, err
		}
		op := &sinkOp[T]{w: w, tc: tc}
		return &instance{inputs: []any{Collector[T](op)}, hooks: w, written: op}, nil
	}
	return Sink{n: n}
}

type sinkOp[T any] struct {
	w       SinkWriter[T]
	tc      *TaskContext
	written int64 // records written without error, for metrics
}

func (s *sinkOp[T]) Collect(v T, ts int64) {
	if s.tc.Failed() {
		return
	}
	if err := s.w.Write(v, ts); err != nil {
		s.tc.Fail(err)
		return
	}
	s.written++
}

func (s *sinkOp[T]) takesRuns() bool { return true }

func (s *sinkOp[T]) collectBatch(es []Element[T]) {
	for i := range es {
		if s.tc.Failed() {
			return
		}
		if err := s.w.Write(es[i].Value, es[i].Timestamp); err != nil {
			s.tc.Fail(err)
			return
		}
		s.written++
	}
}

// Written returns how many records the sink has written.
func (s *sinkOp[T]) Written() int64 { return s.written }

// Discard adds a sink that drops every record (a blackhole for benchmarks).
func Discard[T any](s Stream[T]) Sink {
	return ToSink(s, "discard", func(*TaskContext) (SinkWriter[T], error) { return discard[T]{}, nil })
}

type discard[T any] struct{}

func (discard[T]) Write(T, int64) error { return nil }

// lockedWriter serialises whole chunks from several subtasks into one
// io.Writer, so that lines never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// lineWriter buffers one subtask's lines and hands whole lines to a shared
// writer after every batch, at end of input and on close.
type lineWriter[T any] struct {
	tc     *TaskContext
	w      io.Writer
	format func(dst []byte, v T) ([]byte, error)
	buf    []byte // whole lines only, so a shared writer never sees half a line
}

// lineChunk is how many bytes of whole lines a subtask gathers before it
// hands them to the shared writer.
const lineChunk = 64 << 10

func newLineWriter[T any](tc *TaskContext, w io.Writer, format func([]byte, T) ([]byte, error)) *lineWriter[T] {
	return &lineWriter[T]{tc: tc, w: w, format: format}
}

func (l *lineWriter[T]) Write(v T, _ int64) error {
	n := len(l.buf)
	var err error
	if l.buf, err = l.format(l.buf, v); err != nil {
		l.buf = l.buf[:n]
		return err
	}
	l.buf = append(l.buf, '\n')
	if len(l.buf) >= lineChunk {
		return l.flush()
	}
	return nil
}

func (l *lineWriter[T]) flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	l.buf = l.buf[:0]
	return err
}

// BatchEnd hands the batch's lines over; a write error fails the subtask.
func (l *lineWriter[T]) BatchEnd() {
	if err := l.flush(); err != nil {
		l.tc.Fail(err)
	}
}

func (l *lineWriter[T]) EndInput() error { return l.flush() }

func (l *lineWriter[T]) Close() error { return l.flush() }

// Print writes every record as a line of fmt's %v format to standard
// output. With parallelism above 1, each line starts with "N> ", N the
// 1-based subtask, as Flink's print sink does.
func Print[T any](s Stream[T]) Sink { return PrintTo(s, os.Stdout) }

// PrintTo is Print to any writer.
func PrintTo[T any](s Stream[T], w io.Writer) Sink {
	shared := &lockedWriter{w: w}
	return ToSink(s, "print", func(tc *TaskContext) (SinkWriter[T], error) {
		prefix := ""
		if tc.Parallelism > 1 {
			prefix = fmt.Sprintf("%d> ", tc.Subtask+1)
		}
		return newLineWriter(tc, shared, func(dst []byte, v T) ([]byte, error) {
			return fmt.Appendf(dst, "%s%v", prefix, v), nil
		}), nil
	})
}

// WriteJSONLines writes every record as one line of JSON to w.
func WriteJSONLines[T any](s Stream[T], w io.Writer) Sink {
	shared := &lockedWriter{w: w}
	return ToSink(s, "jsonlines", func(tc *TaskContext) (SinkWriter[T], error) {
		return newLineWriter(tc, shared, appendJSON[T]), nil
	})
}

// appendJSONLine appends v's JSON encoding and a newline: one line of a
// JSON-lines file.
func appendJSONLine[T any](dst []byte, v T) ([]byte, error) {
	dst, err := appendJSON(dst, v)
	if err != nil {
		return dst, err
	}
	return append(dst, '\n'), nil
}

func appendJSON[T any](dst []byte, v T) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("encode %T as JSON: %w", v, err)
	}
	return append(dst, b...), nil
}

// FailBuild makes Pipeline.Build fail with err, naming the operator whose
// output s is. Runtime packages report a bad constant setting of an
// operator they added with External this way, at Build and before the
// job starts, as this package's operators do, so that pipeline helpers
// stay func(...) Stream[T].
func FailBuild[T any](s Stream[T], err error) { s.n.p.fail(s.n, err) }

// External adds an operator whose behaviour the runtime supplies (such as a
// user's actor): open builds the operator for one subtask, with the
// runtime's services in tc.Host, and returns its input collector and the
// operator value whose optional interfaces (Blocker, MessageHandler,
// Snapshotter, …) the chain calls. Runtime packages use it; pipelines
// use the runtime's typed wrapper instead (actors.FromActor).
func External[In, Out any](s Stream[In], kind string, open func(tc *TaskContext, out Collector[Out]) (Collector[In], any, error)) Stream[Out] {
	n := s.n.p.addNode(kindOperator, kind, newStreamOps[Out]())
	connect(s, n)
	n.open = func(tc *TaskContext, out any) (*instance, error) {
		in, hooks, err := open(tc, out.(Collector[Out]))
		if err != nil {
			return nil, err
		}
		return &instance{inputs: []any{in}, hooks: hooks}, nil
	}
	return newStream[Out](n)
}
