package operators

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// hookRecorder is a fault injector that records every lifecycle hook the
// chain reaches, and fails the one named by failAt.
type hookRecorder struct {
	calls  []string // "point operator"
	failAt string
	err    error // returned at failAt; nil: panic there
}

func (r *hookRecorder) BeforeRecord(TaskInfo) {}

func (r *hookRecorder) At(point FaultPoint, op TaskInfo) error {
	call := fmt.Sprintf("%v %s", point, op.Operator)
	r.calls = append(r.calls, call)
	if call != r.failAt {
		return nil
	}
	if r.err == nil {
		panic("injected at " + call)
	}
	return r.err
}

// closeWriter is a sink writer that counts its Close calls and fails them
// as told.
type closeWriter struct {
	closes int
	err    error // returned by Close
	panics bool  // Close panics (after counting)
}

func (w *closeWriter) Write(int, int64) error { return nil }

func (w *closeWriter) Close() error {
	w.closes++
	if w.panics {
		panic("close failed")
	}
	return w.err
}

// closeReader is a slice source whose reader counts its Close calls and
// returns closeErr.
type closeReader struct {
	sliceReader[int]
	closes   int
	closeErr error
}

func (r *closeReader) Close() error {
	r.closes++
	return r.closeErr
}

// lifecycleChain is a source "src" → map "m" → sink "sink" chained into
// one vertex; it returns the reader and writer of subtask 0.
func lifecycleChain(t *testing.T, faults FaultInjector, w *closeWriter) (*Vertex, *closeReader, ChainConfig) {
	t.Helper()
	r := &closeReader{sliceReader: sliceReader[int]{values: []int{1, 2, 3}, step: 1}}
	p := NewPipeline("t")
	src := FromReader(p, "src", func(tc *TaskContext) (Reader[int], error) {
		r.tc = tc
		return r, nil
	}).Name("src")
	m := Map(src, func(v int) int { return v }).Name("m")
	ToSink(m, "sink", func(*TaskContext) (SinkWriter[int], error) { return w, nil }).Name("sink")
	return onlyVertex(t, p), r, ChainConfig{BatchSize: 8, Ship: &recordingShipper{}, Faults: faults}
}

func TestChain_faultPoints_everyHookOfEveryOperator(t *testing.T) {
	rec := &hookRecorder{}
	v, _, cfg := lifecycleChain(t, rec, &closeWriter{})
	c, err := v.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if err := c.NotifyCheckpointComplete(1); err != nil {
		t.Fatal(err)
	}
	if err := c.EndInput(); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(c.Close(), c.Close()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"open sink", "open m", "open src", // tail first
		"snapshot src", // only operators with state
		"notify-complete src", "notify-complete m", "notify-complete sink",
		"end-input src", "end-input m", "end-input sink",
		"close src", "close m", "close sink", // once, though Close was called twice
	}
	if !slices.Equal(rec.calls, want) {
		t.Fatalf("hooks reached:\n%q\nwant\n%q", rec.calls, want)
	}
}

func TestChain_faultPoints_errorNamesOperatorAndHook(t *testing.T) {
	boom := errors.New("boom")
	for _, tt := range []struct {
		at   string
		run  func(c *Chain) error
		want string
	}{
		{"notify-complete m", func(c *Chain) error { return c.NotifyCheckpointComplete(4) }, `operator "m" subtask 1/1: checkpoint 4 complete: boom`},
		{"end-input sink", func(c *Chain) error { return c.EndInput() }, `operator "sink" subtask 1/1: end input: boom`},
		{"close m", func(c *Chain) error { return c.Close() }, `operator "m" subtask 1/1: close: boom`},
	} {
		t.Run(tt.at, func(t *testing.T) {
			v, _, cfg := lifecycleChain(t, &hookRecorder{failAt: tt.at, err: boom}, &closeWriter{})
			c, err := v.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			err = tt.run(c)
			var oe *OperatorError
			if !errors.Is(err, boom) || !errors.As(err, &oe) || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

// An operator that fails to open: the operators opened before it (tail
// first) are closed, and what their Close returns is not dropped.
func TestVertex_Open_failureKeepsCloseErrors(t *testing.T) {
	closeErr := errors.New("sink close failed")
	w := &closeWriter{err: closeErr}
	v, _, cfg := lifecycleChain(t, &hookRecorder{failAt: "open m", err: errors.New("boom")}, w)
	_, err := v.Open(cfg)
	if err == nil || !errors.Is(err, closeErr) || w.closes != 1 {
		t.Fatalf("Open: %v (sink closed %d times), want the open error and the sink's close error", err, w.closes)
	}
	var oe *OperatorError
	if !errors.As(err, &oe) || oe.Operator != "m" {
		t.Fatalf("Open: %v, want first an OperatorError naming m", err)
	}
}

// A Close that panics, or returns an error, or both in two operators: Close
// itself neither panics nor stops early. Every operator and the source's
// reader are closed once, and each failure comes back naming its
// operator, a panic as a *PanicError.
func TestChain_Close_closesEveryOperatorWhateverTheyDo(t *testing.T) {
	readerErr := errors.New("reader close failed")
	for _, tt := range []struct {
		name      string
		writer    *closeWriter
		faults    *hookRecorder // fails "close m" by panicking, when set
		readerErr error
		want      []string // operators whose failure is returned
		panics    bool
	}{
		{name: "sink panics", writer: &closeWriter{panics: true}, want: []string{"sink"}, panics: true},
		{name: "sink errs", writer: &closeWriter{err: errors.New("sink close failed")}, want: []string{"sink"}},
		{name: "map panics, sink errs, reader errs", writer: &closeWriter{err: errors.New("sink close failed")},
			faults: &hookRecorder{failAt: "close m"}, readerErr: readerErr, want: []string{"m", "sink", "src"}, panics: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var faults FaultInjector
			if tt.faults != nil {
				faults = tt.faults
			}
			v, r, cfg := lifecycleChain(t, faults, tt.writer)
			c, err := v.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			r.closeErr = tt.readerErr
			var closeErr error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("Close panicked: %v", p)
					}
				}()
				closeErr = c.Close()
			}()
			if again := c.Close(); again != nil || r.closes != 1 || tt.writer.closes != 1 {
				t.Fatalf("second Close = %v; reader closed %d times, sink %d; want nil and once each", again, r.closes, tt.writer.closes)
			}
			var named []string
			for _, e := range closeErr.(interface{ Unwrap() []error }).Unwrap() {
				var oe *OperatorError
				if !errors.As(e, &oe) {
					t.Fatalf("error %v names no operator", e)
				}
				named = append(named, oe.Operator)
			}
			var pe *PanicError
			if !slices.Equal(named, tt.want) || errors.As(closeErr, &pe) != tt.panics || (tt.readerErr != nil && !errors.Is(closeErr, readerErr)) {
				t.Fatalf("Close = %v; want failures of %v, a panic %v", closeErr, tt.want, tt.panics)
			}
			if tt.panics && len(pe.Stack) == 0 {
				t.Fatalf("the panic %v has no stack", pe)
			}
		})
	}
}
