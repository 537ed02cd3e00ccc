package persistence

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

// streamed begins a snapshot of b, encodes it and closes it; it checks
// that Size announced the length.
func streamed(t testing.TB, b *BoltBackend[string]) []byte {
	t.Helper()
	s := must(b.BeginSnapshot())
	defer func() { must(0, s.Close()) }()
	return encodeSnapshot(t, s)
}

func encodeSnapshot(t testing.TB, s *BoltSnapshot) []byte {
	t.Helper()
	size := must(s.Size(context.Background()))
	var buf bytes.Buffer
	if err := s.Encode(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != size {
		t.Fatalf("Encode wrote %d bytes, Size said %d", buf.Len(), size)
	}
	return buf.Bytes()
}

// openTxs is the number of read transactions open on b's file.
func openTxs(b *BoltBackend[string]) int { return b.db.Stats().OpenTxN }

// The streamed snapshot is, byte for byte, the encoding of the
// in-memory one: every kind of state, TTL (an expired entry, a list
// with an expired element), restored entries of a state not registered
// yet, and a backend that owns only some key groups.
func TestBoltSnapshot_Encode_sameBytesAsMarshalBinary(t *testing.T) {
	c := newClock()
	owned := subtaskRanges(3)[1]
	keys := keysIn(90, owned)
	heap := newBackend(t, owned, c)
	later := must(Value(heap, ValueDescriptor[int]{Name: "later", Codec: intCodec{}}))
	for _, k := range keys[:5] {
		heap.SetCurrentKey(k)
		later.Update(7)
	}

	b := newBoltBackend(t, owned, c, 5)
	if err := b.Restore(must(heap.Snapshot())); err != nil { // "later" stays pending
		t.Fatal(err)
	}
	registerAll(t, b).fill(b, keys)
	ttl := must(List(b, ListDescriptor[int]{Name: "ttl", Codec: intCodec{}, TTL: TTLConfig{TTL: time.Minute}}))
	for i, k := range keys {
		b.SetCurrentKey(k)
		ttl.Add(i)
		if i%3 == 0 {
			c.advance(20 * time.Second) // the first elements expire
		}
	}
	c.advance(30 * time.Second)

	got := streamed(t, b)
	want := must(must(b.Snapshot()).MarshalBinary())
	if !bytes.Equal(got, want) {
		t.Fatalf("streamed snapshot differs from MarshalBinary's:\n got %x\nwant %x", got, want)
	}
	snap := must(UnmarshalKeyedSnapshot(got))
	if n := len(canonical(t, snap)); n != owned.End-owned.Start {
		t.Errorf("%d key groups in the snapshot, want %d", n, owned.End-owned.Start)
	}
}

// Streamed snapshots of bbolt subtasks restore into heap and bbolt
// backends alike, at the same parallelism and at others, to the state of
// heap subtasks that were given the same entries.
func TestBoltSnapshot_restoresLikeHeap(t *testing.T) {
	for _, tt := range []struct{ from, to int }{{2, 2}, {3, 1}, {1, 4}, {3, 2}} {
		t.Run("", func(t *testing.T) {
			var streams, heaps []*KeyedSnapshot
			for _, r := range subtaskRanges(tt.from) {
				b := newBoltBackend(t, r, nil, 3)
				registerAll(t, b).fill(b, keysIn(80, r))
				streams = append(streams, must(UnmarshalKeyedSnapshot(streamed(t, b))))
				h := newBackend(t, r, nil)
				registerAll(t, h).fill(h, keysIn(80, r))
				heaps = append(heaps, must(h.Snapshot()))
			}
			for i, r := range subtaskRanges(tt.to) {
				b := backendKinds[i%3].new(t, r, nil)
				if err := b.Restore(streams...); err != nil {
					t.Fatal(err)
				}
				registerAll(t, b).check(t, b, keysIn(80, r))
				want := newBackend(t, r, nil)
				if err := want.Restore(heaps...); err != nil {
					t.Fatal(err)
				}
				registerAll(t, want)
				wantSameSnapshot(t, must(b.Snapshot()), must(want.Snapshot()))
			}
		})
	}
}

// A snapshot is the state at BeginSnapshot, whatever the backend writes
// afterwards; and those writes do not wait for the snapshot, even when
// they grow the file far past what it was (a remap of the file would
// wait for the snapshot's read transaction).
func TestBoltSnapshot_writesGoOnWhileOpen(t *testing.T) {
	b := newBoltBackend(t, Range{}, nil, 64)
	v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
	for i := range 1000 {
		b.SetCurrentKey(testKey(i))
		v.Update(i)
	}
	want := must(must(b.Snapshot()).MarshalBinary())
	s := must(b.BeginSnapshot())
	defer s.Close()

	done := make(chan error, 1)
	go func() {
		for i := range 50_000 { // megabytes: without a large map, the file is remapped several times
			b.SetCurrentKey(testKey(i%1000) + itoa(i))
			v.Update(-i)
		}
		done <- b.Flush()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		_ = s.Close() // lets the writes go on, so the backend can close
		<-done
		t.Fatal("writes blocked while a snapshot was open")
	}
	if got := encodeSnapshot(t, s); !bytes.Equal(got, want) {
		t.Errorf("the snapshot changed with the writes after it")
	}
}

// Close ends the read transaction, once; a closed snapshot cannot be
// read; the backend closes afterwards.
func TestBoltSnapshot_Close(t *testing.T) {
	b := newBoltBackend(t, Range{}, nil, 0)
	registerAll(t, b).fill(b, keysIn(10, Range{0, testMaxPar}))
	must(0, b.Flush()) // which ends the backend's own read transaction
	before := openTxs(b)
	s := must(b.BeginSnapshot())
	defer s.Close() // before the backend's, which waits for it
	if got := openTxs(b); got != before+1 {
		t.Fatalf("%d read transactions open with a snapshot, want %d", got, before+1)
	}
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := openTxs(b); got != before {
		t.Errorf("%d read transactions open after Close, want %d", got, before)
	}
	_, err := s.Size(context.Background())
	wantErr(t, err, ErrClosed, b.Path())
	wantErr(t, s.Encode(context.Background(), io.Discard), ErrClosed, b.Path())
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = b.BeginSnapshot()
	wantErr(t, err, ErrClosed, b.Path())
}

// A cancelled context stops the scan with its cause.
func TestBoltSnapshot_Encode_cancelled(t *testing.T) {
	b := newBoltBackend(t, Range{}, nil, 0)
	v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
	for i := range 3 * snapCheckEvery {
		b.SetCurrentKey(testKey(i % 600))
		v.Update(i)
		b.SetCurrentKey(itoa(i))
		v.Update(i)
	}
	s := must(b.BeginSnapshot())
	defer s.Close()
	cause := errors.New("checkpoint aborted")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	_, err := s.Size(ctx)
	wantErr(t, err, cause, b.Path())
	wantErr(t, s.Encode(ctx, io.Discard), cause, b.Path())
}

// A key in a group the backend does not own fails the snapshot, as the
// heap backend's does.
func TestBoltSnapshot_keyOutsideOwnedGroups(t *testing.T) {
	owned := subtaskRanges(2)[0]
	b := newBoltBackend(t, owned, nil, 0)
	v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
	b.SetCurrentKey(keysIn(40, subtaskRanges(2)[1])[0])
	v.Update(1)
	s := must(b.BeginSnapshot())
	defer s.Close()
	_, err := s.Size(context.Background())
	wantErr(t, err, ErrKeyGroup, `state "v"`)
}

// Encoding streams: it allocates a few buffers, not the state's size.
func TestBoltSnapshot_Encode_streams(t *testing.T) {
	const keys = 200_000
	b := newBoltBackend(t, Range{}, nil, 0)
	v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
	for i := range keys {
		b.SetCurrentKey(itoa(i))
		v.Update(i)
	}
	s := must(b.BeginSnapshot())
	defer s.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	size := must(s.Size(context.Background()))
	err := s.Encode(context.Background(), io.Discard)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Errorf("encoding a %d-byte snapshot allocated %d bytes", size, grew)
	}
}
