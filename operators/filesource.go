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
	"math"
	"os"
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
// names the file and the 1-based line number.
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
// this subtask's range.
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
	q := &handoff[T]{chunks: make(chan chunk[T], fetchQueueChunks), wake: tc.Wake}
	ff := &fileFetcher[T]{spec: spec, file: f, start: i * size / n, end: (i + 1) * size / n, q: q}
	ctx, cancel := context.WithCancel(context.Background())
	r := &fileReader[T]{q: q, cancel: cancel, done: make(chan struct{})}
	go ff.run(ctx, r.done)
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

// chunk is a batch of records from the fetcher; err, if set, is the
// fetcher's final error and comes after recs.
type chunk[T any] struct {
	recs []T
	err  error
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
// the subtask's goroutine; the fetcher only touches the handoff.
type fileReader[T any] struct {
	q      *handoff[T]
	cur    []T
	pos    int
	err    error
	ended  bool // no more chunks: the queue is closed or held the final error
	cancel context.CancelFunc
	done   chan struct{} // closed when the fetcher has exited
}

// Poll emits what the fetcher has ready, never waiting for it.
func (r *fileReader[T]) Poll(out Collector[T], max int) (Poll, error) {
	for n := 0; n < max && r.fill(); n++ {
		out.Collect(r.cur[r.pos], NoTimestamp)
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
	case r.pos < len(r.cur):
		return Poll{Status: PollMore}, nil
	case r.err != nil:
		return Poll{Status: PollDone}, r.err
	}
	return Poll{Status: PollDone}, nil
}

// fill makes a record current if one is ready, without blocking; it
// reports whether there is one.
func (r *fileReader[T]) fill() bool {
	for r.pos == len(r.cur) {
		if r.ended {
			return false
		}
		select {
		case c, ok := <-r.q.chunks:
			r.cur, r.pos, r.err = c.recs, 0, c.err
			r.ended = !ok || c.err != nil
		default:
			return false
		}
	}
	return true
}

// Close stops the fetcher and waits for it to exit; it is safe to call more
// than once, and at any point of the file.
func (r *fileReader[T]) Close() error {
	r.cancel()
	<-r.done
	return nil
}

// fileFetcher reads one subtask's range of a file on its own goroutine and
// parses its lines into chunks.
type fileFetcher[T any] struct {
	spec         fileSpec[T]
	file         *os.File
	start, end   int64 // the owned byte range: lines starting in it are ours
	q            *handoff[T]
	pending      []T
	pendingBytes int
}

func (f *fileFetcher[T]) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	defer f.file.Close() // read only: a close error loses nothing
	err := f.read(ctx)
	if ctx.Err() != nil {
		return // closed: nobody polls any more
	}
	if len(f.pending) > 0 || err != nil {
		f.q.send(ctx, chunk[T]{recs: f.pending, err: err})
	}
	f.q.finish()
}

// read parses the lines that start in the owned range into chunks. It
// reads past the range end to finish its last line.
func (f *fileFetcher[T]) read(ctx context.Context) error {
	if f.start >= f.end {
		return nil // no line can start in an empty range
	}
	br, lineNo, pos, err := f.seek(ctx)
	if err != nil {
		return err
	}
	var buf []byte
	for ; pos < f.end; lineNo++ {
		var rerr error
		buf, rerr = readLine(br, buf[:0])
		if rerr != nil && rerr != io.EOF {
			return fileErr("input file", f.spec.path, rerr)
		}
		if len(buf) == 0 {
			return nil // end of file
		}
		pos += int64(len(buf))
		if err := f.add(ctx, trimEOL(buf), lineNo); err != nil {
			return err
		}
	}
	return nil
}

// seek returns a reader at the first line that starts in the owned range,
// with that line's 1-based number (when numbered) and offset. A range that
// does not start the file begins with the rest of a line that belongs to
// the previous subtask: it is skipped, up to and including its "\n".
func (f *fileFetcher[T]) seek(ctx context.Context) (*bufio.Reader, int, int64, error) {
	if f.start == 0 {
		return f.readerAt(0), 1, 0, nil
	}
	lineNo := 1
	if f.spec.numbered {
		n, err := countNewlines(ctx, f.file, f.start-1)
		if err != nil {
			return nil, 0, 0, fileErr("input file", f.spec.path, err)
		}
		lineNo += n
	}
	br := f.readerAt(f.start - 1)
	skipped, err := skipLine(br)
	if err != nil {
		return nil, 0, 0, fileErr("input file", f.spec.path, err)
	}
	return br, lineNo + 1, f.start - 1 + skipped, nil
}

// readerAt reads the file from off on, past its size at open if it grew.
func (f *fileFetcher[T]) readerAt(off int64) *bufio.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(f.file, off, math.MaxInt64-off), readBufferSize)
}

// add parses one line into the pending chunk and sends the chunk when full.
func (f *fileFetcher[T]) add(ctx context.Context, line []byte, lineNo int) error {
	v, ok, err := f.spec.parse(line, lineNo)
	if err != nil {
		return err
	}
	if ok {
		f.pending = append(f.pending, v)
		f.pendingBytes += len(line)
	}
	if len(f.pending) < fetchChunkRecords && f.pendingBytes < fetchChunkBytes {
		return nil
	}
	if !f.q.send(ctx, chunk[T]{recs: f.pending}) {
		return ctx.Err()
	}
	// The sent slice now belongs to Poll.
	f.pending, f.pendingBytes = make([]T, 0, fetchChunkRecords), 0
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
