package operators

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync/atomic"
)

// Fetcher sizes. A chunk is what the fetcher hands to Poll at once; the
// queue holds at most fetchQueueChunks of them, which bounds the memory a
// file source holds ahead of its consumer.
const (
	fetchChunkRecords = 1024
	fetchChunkBytes   = 1 << 20 // so that a chunk of very long lines goes early
	fetchQueueChunks  = 2
	readBufferSize    = 64 << 10
)

// ReadLines adds a bounded source that emits each line of a text file,
// without its "\n" or "\r\n" terminator. Lines may be of any length.
//
// With parallelism n, the file is split by bytes: subtask i emits, in file
// order, the lines that start in [i*size/n, (i+1)*size/n), so every line is
// emitted exactly once. Each subtask opens the file when it starts; an open
// error fails it at once. The file must not change while the job reads it.
//
// Under checkpoints the position of each split (a byte range) is operator
// state: a restore resumes after the last line emitted before the
// checkpoint, so no line is lost or repeated, at any parallelism (splits
// are dealt over the new subtasks; one may read several, or none).
func ReadLines(p *Pipeline, path string, opts ...SourceOption) Stream[string] {
	parse := func(line []byte, _ int) (string, bool, error) { return string(line), true, nil }
	return FromReader(p, "readlines", func(tc *TaskContext) (Reader[string], error) {
		return openFileReader(tc, fileSpec[string]{path: path, parse: parse})
	}, opts...)
}

// ReadJSONLines adds a bounded source that decodes each non-blank line of a
// file into a T with encoding/json, splitting the file over subtasks as
// ReadLines does. A line that does not decode fails the subtask, after the
// lines before it were emitted, with an error that wraps ErrDecode and
// names the file and the 1-based line number. A panic in T's decoder (its
// UnmarshalJSON) fails the subtask the same way, with an error that wraps
// ErrSourcePanic: it runs on the source's fetcher goroutine, which
// recovers it, and never takes the process down.
func ReadJSONLines[T any](p *Pipeline, path string, opts ...SourceOption) Stream[T] {
	return FromReader(p, "readjsonlines", func(tc *TaskContext) (Reader[T], error) {
		return openFileReader(tc, fileSpec[T]{path: path, parse: jsonLineParser[T](path), numbered: true})
	}, opts...)
}

// lineParser turns one line, terminator removed, into a record; ok false
// skips the line. line is reused after the call returns.
type lineParser[T any] func(line []byte, lineNo int) (v T, ok bool, err error)

// fileSpec says what a file source reads and how it parses lines.
type fileSpec[T any] struct {
	path  string
	parse lineParser[T]
	// numbered makes a subtask count the lines before its range, so that
	// parse gets true line numbers; it costs a read of that prefix.
	numbered bool
}

func jsonLineParser[T any](path string) lineParser[T] {
	return func(line []byte, lineNo int) (T, bool, error) {
		var v T
		if isBlank(line) {
			return v, false, nil
		}
		if err := json.Unmarshal(line, &v); err != nil {
			return v, false, fmt.Errorf("%w: %s line %d: %v", ErrDecode, path, lineNo, err)
		}
		return v, true, nil
	}
}

// isBlank reports whether line holds only JSON whitespace.
func isBlank(line []byte) bool {
	return len(bytes.Trim(line, " \t\r")) == 0
}

// openFileReader opens the file at once, so that a missing or unreadable
// file fails the subtask when it starts, and starts the fetcher that reads
// this subtask's split: the lines that start in its byte range.
func openFileReader[T any](tc *TaskContext, spec fileSpec[T]) (Reader[T], error) {
	f, err := os.Open(spec.path)
	if err != nil {
		return nil, fileErr("input file", spec.path, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file") // its size cannot be split
	}
	if err != nil {
		_ = f.Close()
		return nil, fileErr("input file", spec.path, err)
	}
	size, i, n := fi.Size(), int64(tc.Subtask), int64(tc.Parallelism)
	r := &fileReader[T]{tc: tc, spec: spec, file: f, size: size,
		splits: []fileSplit{{Start: i * size / n, End: (i + 1) * size / n, Size: size}}}
	r.start()
	return r, nil
}

// fileErr names path in an I/O error unless err already does (os errors
// are *fs.PathError, which name it).
func fileErr(what, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s %s: %w", what, path, err)
}

// readPos is where a split stands after one record: the offset of the
// next line and its 1-based number.
type readPos struct {
	next int64
	line int
}

// chunk is a batch of records of one split from the fetcher, with the
// position after each; err, if set, is the fetcher's final error and comes
// after recs.
type chunk[T any] struct {
	split int
	recs  []T
	pos   []readPos
	err   error
}

// handoff is the bounded queue from a fetcher goroutine to Poll. Wake-ups
// are coalesced: the fetcher calls wake only after Poll found the queue
// empty and raised waiting, so a fetcher that keeps ahead costs no wake-up
// per chunk.
type handoff[T any] struct {
	chunks  chan chunk[T]
	waiting atomic.Bool
	wake    func()
}

// send queues c, blocking while the queue is full; it reports false if ctx
// ended first.
func (h *handoff[T]) send(ctx context.Context, c chunk[T]) bool {
	select {
	case h.chunks <- c:
	case <-ctx.Done():
		return false
	}
	h.notify()
	return true
}

// finish tells Poll that no more chunks come.
func (h *handoff[T]) finish() {
	close(h.chunks)
	h.notify()
}

func (h *handoff[T]) notify() {
	if h.waiting.CompareAndSwap(true, false) {
		h.wake()
	}
}

// fileReader is the Poll side of a file source. Its methods are called from
// the subtask's goroutine; the fetcher only touches the handoff and reads
// the file (ReadAt, safe alongside a later fetcher's reads).
type fileReader[T any] struct {
	tc     *TaskContext
	spec   fileSpec[T]
	file   *os.File // owned by the reader, closed by Close
	size   int64    // at open
	splits []fileSplit
	closed bool

	// The current fetcher: a restore replaces it.
	q      *handoff[T]
	cur    chunk[T]
	pos    int
	err    error
	ended  bool // no more chunks: the queue is closed or held the final error
	cancel context.CancelFunc
	done   chan struct{} // closed when the fetcher has exited
}

// start runs a fetcher over the splits from where they stand.
func (r *fileReader[T]) start() {
	r.q = &handoff[T]{chunks: make(chan chunk[T], fetchQueueChunks), wake: r.tc.Wake}
	r.cur, r.pos, r.err, r.ended = chunk[T]{}, 0, nil, false
	ff := &fileFetcher[T]{spec: r.spec, file: r.file, splits: slices.Clone(r.splits), q: r.q}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go ff.run(ctx, r.done)
}

// stop ends the current fetcher and waits for it.
func (r *fileReader[T]) stop() {
	r.cancel()
	<-r.done
}

// Poll emits what the fetcher has ready, never waiting for it; each
// record moves its split's position past its line.
func (r *fileReader[T]) Poll(out Collector[T], max int) (Poll, error) {
	for n := 0; n < max && r.fill(); n++ {
		out.Collect(r.cur.recs[r.pos], NoTimestamp)
		r.splits[r.cur.split].advance(r.cur.pos[r.pos])
		r.pos++
	}
	if !r.fill() && !r.ended {
		// Raise the flag, then look again: a chunk the fetcher sent before
		// it could see the flag is found here, any later one brings a wake.
		r.q.waiting.Store(true)
		if !r.fill() && !r.ended {
			return Poll{Status: PollWait}, nil
		}
		r.q.waiting.Store(false) // not waiting after all: no wake needed
	}
	switch {
	case r.pos < len(r.cur.recs):
		return Poll{Status: PollMore}, nil
	case r.err != nil:
		return Poll{Status: PollDone}, r.err
	}
	return Poll{Status: PollDone}, nil
}

// fill makes a record current if one is ready, without blocking; it
// reports whether there is one.
func (r *fileReader[T]) fill() bool {
	for r.pos == len(r.cur.recs) {
		if r.ended {
			return false
		}
		select {
		case c, ok := <-r.q.chunks:
			r.cur, r.pos, r.err = c, 0, c.err
			r.ended = !ok || c.err != nil
		default:
			return false
		}
	}
	return true
}

// Close stops the fetcher, waits for it to exit and closes the file; it is
// safe to call more than once, and at any point of the file.
func (r *fileReader[T]) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.stop()
	_ = r.file.Close() // read only: a close error loses nothing
	return nil
}

// readLine appends the next line of br, terminator included, to buf. Unlike
// bufio.Scanner it has no limit on the line length.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		buf = append(buf, frag...)
		if err != bufio.ErrBufferFull {
			return buf, err
		}
	}
}

// skipLine discards br's bytes up to and including the next "\n" (or to
// the end of the file) without holding the line, and returns their count.
func skipLine(br *bufio.Reader) (int64, error) {
	var n int64
	for {
		frag, err := br.ReadSlice('\n')
		n += int64(len(frag))
		switch err {
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return n, nil
		}
		return n, err
	}
}

// trimEOL removes a trailing "\n" or "\r\n". A "\r" not followed by "\n"
// is data.
func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n > 1 && line[n-2] == '\r' {
			line = line[:n-2]
		}
	}
	return line
}

// countNewlines counts the "\n" bytes in r's first n bytes.
func countNewlines(ctx context.Context, r io.ReaderAt, n int64) (int, error) {
	sr := io.NewSectionReader(r, 0, n)
	buf := make([]byte, readBufferSize)
	count := 0
	for {
		if err := ctx.Err(); err != nil {
			return 0, err // closed while counting a large prefix
		}
		k, err := sr.Read(buf)
		count += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return count, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
