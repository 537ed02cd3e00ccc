package actors

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// endlessReader emits 0, 1, 2, … until the job is stopped; its Close
// returns closeErr.
type endlessReader struct {
	next     int64
	closeErr error
	closed   *atomic.Int64
}

func (r *endlessReader) Poll(out operators.Collector[int64], max int) (operators.Poll, error) {
	for range max {
		out.Collect(r.next, operators.NoTimestamp)
		r.next++
	}
	return operators.Poll{Status: operators.PollMore}, nil
}

func (r *endlessReader) Close() error {
	r.closed.Add(1)
	return r.closeErr
}

// closeFailingWriter is a sink writer whose Close panics or returns an
// error, after counting the call.
type closeFailingWriter struct {
	written  *atomic.Int64
	closed   *atomic.Int64
	panics   bool
	closeErr error
}

func (w *closeFailingWriter) Write(int64, int64) error {
	w.written.Add(1)
	return nil
}

func (w *closeFailingWriter) Close() error {
	w.closed.Add(1)
	if w.panics {
		panic("sink close panicked")
	}
	return w.closeErr
}

// lockedBuffer collects an engine's log, written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// closeFailures are the ways a subtask's operators fail to close: the sink
// panics, the sink returns an error, or both at once in one chain (the
// source's reader returns an error, the sink panics).
var closeFailures = []struct {
	name        string
	readerErr   error
	sinkPanics  bool
	sinkErr     error
	wantLogged  []string
	wantNoPanic bool
}{
	{name: "panic", sinkPanics: true, wantLogged: []string{"sink close panicked"}},
	{name: "error", sinkErr: errors.New("sink close failed"), wantLogged: []string{"sink close failed"}},
	{name: "panic and error", readerErr: errors.New("reader close failed"), sinkPanics: true,
		wantLogged: []string{"sink close panicked", "reader close failed"}},
}

// Job.Cancel and Engine.Close stop every subtask, whatever its operators
// do in Close: they return, every operator of the chain was closed, and
// the failures are logged, not lost.
func TestJob_Cancel_and_Engine_Close_returnWhenCloseFails(t *testing.T) {
	stops := map[string]func(e *Engine, j *Job){
		"Job.Cancel":   func(_ *Engine, j *Job) { j.Cancel() },
		"Engine.Close": func(e *Engine, _ *Job) { _ = e.Close() },
	}
	for stopName, stop := range stops {
		for _, f := range closeFailures {
			t.Run(stopName+"/"+f.name, func(t *testing.T) {
				log := &lockedBuffer{}
				e := newTestEngine(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(log, nil)) })
				var written, readerClosed, sinkClosed atomic.Int64
				p := operators.NewPipeline("close-fails")
				src := operators.FromReader(p, "endless", func(*operators.TaskContext) (operators.Reader[int64], error) {
					return &endlessReader{closeErr: f.readerErr, closed: &readerClosed}, nil
				}).Name("src")
				operators.ToSink(src, "sink", func(*operators.TaskContext) (operators.SinkWriter[int64], error) {
					return &closeFailingWriter{written: &written, closed: &sinkClosed, panics: f.sinkPanics, closeErr: f.sinkErr}, nil
				}).Name("sink")
				job := submit(t, e, p)
				eventually(t, closeTimeout, func() bool { return written.Load() > 100 }, "records to flow")
				if !returnsWithin(closeTimeout, func() { stop(e, job) }) {
					t.Fatalf("%s did not return within %v; job %v", stopName, closeTimeout, job.State())
				}
				if err := waitJob(t, job); !errors.Is(err, ErrCancelled) || job.State() != JobCancelled {
					t.Fatalf("Wait = %v, state %v; want cancelled", err, job.State())
				}
				if readerClosed.Load() != 1 || sinkClosed.Load() != 1 {
					t.Fatalf("reader closed %d times, sink %d times; want once each", readerClosed.Load(), sinkClosed.Load())
				}
				for _, want := range f.wantLogged {
					if !strings.Contains(log.String(), want) {
						t.Fatalf("the log does not report %q:\n%s", want, log)
					}
				}
			})
		}
	}
}
