package operators

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
)

// fileFetcher reads a subtask's splits of a file on its own goroutine, in
// order, and parses their lines into chunks.
type fileFetcher[T any] struct {
	spec         fileSpec[T]
	file         *os.File // read with ReadAt only; the reader closes it
	splits       []fileSplit
	q            *handoff[T]
	pending      chunk[T]
	pendingBytes int
	// lineNo and lineOff are the line being parsed, for the error of a
	// panic in the parser.
	lineNo  int
	lineOff int64
}

func (f *fileFetcher[T]) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	err := f.readAll(ctx)
	if ctx.Err() != nil {
		return // closed: nobody polls any more
	}
	if len(f.pending.recs) > 0 || err != nil {
		f.pending.err = err
		f.q.send(ctx, f.pending)
	}
	f.q.finish()
}

// readAll reads the splits in order. The parser runs user code (the
// record type's json.Unmarshaler), and a panic on this goroutine would
// kill the process: nothing up its stack recovers. So a panic becomes the
// fetcher's final error, naming the file and the line, which Poll returns
// after the records before that line and which fails the subtask like any
// operator failure (the job fails, or restarts from its checkpoint). The
// parser panics before it changes the pending chunk, so what was read
// before the line is emitted once.
func (f *fileFetcher[T]) readAll(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %s: %v\n%s", ErrSourcePanic, f.where(), p, debug.Stack())
		}
	}()
	for k := range f.splits {
		if err := f.readSplit(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// where names the line being parsed: by number when the source counts
// lines (spec.numbered), else by byte offset.
func (f *fileFetcher[T]) where() string {
	if f.spec.numbered {
		return fmt.Sprintf("%s line %d", f.spec.path, f.lineNo)
	}
	return fmt.Sprintf("%s line at byte %d", f.spec.path, f.lineOff)
}

// readSplit parses the lines that start in split k's range, from where it
// stands, into chunks. It reads past the range end to finish its last
// line.
func (f *fileFetcher[T]) readSplit(ctx context.Context, k int) error {
	sp := f.splits[k]
	if sp.Start >= sp.End || (sp.Aligned && sp.Next >= sp.End) {
		return nil // no line (left) starts in the range
	}
	br, lineNo, pos, err := f.seek(ctx, sp)
	if err != nil {
		return err
	}
	var buf []byte
	for ; pos < sp.End; lineNo++ {
		var rerr error
		buf, rerr = readLine(br, buf[:0])
		if rerr != nil && rerr != io.EOF {
			return fileErr("input file", f.spec.path, rerr)
		}
		if len(buf) == 0 {
			return nil // end of file
		}
		f.lineNo, f.lineOff = lineNo, pos
		pos += int64(len(buf))
		if err := f.add(ctx, k, trimEOL(buf), lineNo, readPos{next: pos, line: lineNo + 1}); err != nil {
			return err
		}
	}
	return nil
}

// seek returns a reader at the next line of sp to read, with that line's
// 1-based number (when numbered) and offset. A split already under way
// resumes at its recorded line. A fresh range that does not start the
// file begins with the rest of a line that belongs to the previous range:
// it is skipped, up to and including its "\n".
func (f *fileFetcher[T]) seek(ctx context.Context, sp fileSplit) (*bufio.Reader, int, int64, error) {
	switch {
	case sp.Aligned:
		return f.readerAt(sp.Next), sp.Line, sp.Next, nil
	case sp.Start == 0:
		return f.readerAt(0), 1, 0, nil
	}
	lineNo := 1
	if f.spec.numbered {
		n, err := countNewlines(ctx, f.file, sp.Start-1)
		if err != nil {
			return nil, 0, 0, fileErr("input file", f.spec.path, err)
		}
		lineNo += n
	}
	br := f.readerAt(sp.Start - 1)
	skipped, err := skipLine(br)
	if err != nil {
		return nil, 0, 0, fileErr("input file", f.spec.path, err)
	}
	return br, lineNo + 1, sp.Start - 1 + skipped, nil
}

// readerAt reads the file from off on, past its size at open if it grew.
func (f *fileFetcher[T]) readerAt(off int64) *bufio.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(f.file, off, math.MaxInt64-off), readBufferSize)
}

// add parses one line of split k into the pending chunk, with the
// position after it, and sends the chunk when full or when the split
// changes (a chunk holds one split's records).
func (f *fileFetcher[T]) add(ctx context.Context, k int, line []byte, lineNo int, after readPos) error {
	v, ok, err := f.spec.parse(line, lineNo)
	if err != nil || !ok {
		return err
	}
	if f.pending.split != k && len(f.pending.recs) > 0 {
		if err := f.flush(ctx); err != nil {
			return err
		}
	}
	f.pending.split = k
	f.pending.recs = append(f.pending.recs, v)
	f.pending.pos = append(f.pending.pos, after)
	f.pendingBytes += len(line)
	if len(f.pending.recs) < fetchChunkRecords && f.pendingBytes < fetchChunkBytes {
		return nil
	}
	return f.flush(ctx)
}

// flush sends the pending chunk; the sent slices then belong to Poll.
func (f *fileFetcher[T]) flush(ctx context.Context) error {
	if !f.q.send(ctx, f.pending) {
		return ctx.Err()
	}
	f.pending = chunk[T]{recs: make([]T, 0, fetchChunkRecords), pos: make([]readPos, 0, fetchChunkRecords)}
	f.pendingBytes = 0
	return nil
}
