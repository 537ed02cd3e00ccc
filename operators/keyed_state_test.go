package operators

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/persistence"
)

// newBoltTaskBackend returns the bbolt backend of a keyed subtask (the
// only one of its job), closed on cleanup.
func newBoltTaskBackend(t *testing.T) persistence.Backend[int] {
	t.Helper()
	tc := &TaskContext{TaskInfo: TaskInfo{Job: "j", Operator: "count", Parallelism: 1, MaxParallelism: 128, Attempt: 1},
		Now: time.Now, StateBackend: StateBackendBolt, StateDir: t.TempDir()}
	b, err := newKeyedBackend[int](tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := closeKeyed(b); err != nil {
			t.Error(err)
		}
	})
	return b
}

// An operator's snapshot runs on the subtask's goroutine, at the
// barrier: with the bbolt backend it must do only what consistency
// needs (flush the write-back cache, open a read transaction) and leave
// the scan and the encoding of the state to the write off that
// goroutine. Measured as the bytes the in-line step allocates: a copy
// of the state would allocate at least its encoded size.
func TestKeyedSnapshot_bbolt_copiesNothingInLine(t *testing.T) {
	const keys = 100_000
	b := newBoltTaskBackend(t)
	v, err := persistence.Value(b, persistence.ValueDescriptor[int]{Name: "value", Codec: JSONCodec[int]{}})
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		b.SetCurrentKey(k)
		v.Update(k)
	}
	if err := b.(*persistence.BoltBackend[int]).Flush(); err != nil { // what came before the barrier is in the file
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st, err := keyedSnapshot(b)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	state := SubtaskState{"count": st}
	t.Cleanup(func() { _ = state.Close() }) // before the backend's, which waits for it
	const limit = 64 << 10                  // a few buffers; the state encodes to over 1 MB
	if grew := after.TotalAlloc - before.TotalAlloc; grew > limit {
		t.Fatalf("the in-line snapshot of %d keys allocated %d bytes (limit %d): it copied the state on the subtask's goroutine",
			keys, grew, limit)
	}

	for k := range keys { // after the barrier: not in the snapshot
		b.SetCurrentKey(k)
		v.Update(-1)
	}
	restored := restoreEncoded(t, state, "count")
	for _, k := range []int{0, 1, keys / 2, keys - 1} {
		restored.SetCurrentKey(k)
		if got, _ := restoredValue(t, restored).Value(); got != k {
			t.Errorf("key %d restored as %d", k, got)
		}
	}
	if n := restored.Entries(); n != keys {
		t.Errorf("%d keys restored, want %d", n, keys)
	}
}

// restoreEncoded encodes st as a subtask writes it to the store, decodes
// it and restores operator op's keyed state into a heap backend.
func restoreEncoded(t *testing.T, st SubtaskState, op string) *persistence.HeapBackend[int] {
	t.Helper()
	enc, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	data, err := enc.Bytes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want, err := st.MarshalBinary(); err != nil || !bytes.Equal(data, want) {
		t.Fatalf("the encoded state is not MarshalBinary's (%v)", err)
	}
	got, err := UnmarshalSubtaskState(data)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHeapKeyedBackend[int](&TaskContext{TaskInfo: TaskInfo{Parallelism: 1, MaxParallelism: 128}, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Restore(got[op].Keyed); err != nil {
		t.Fatal(err)
	}
	return h
}

func restoredValue(t *testing.T, b persistence.Backend[int]) *persistence.ValueState[int] {
	t.Helper()
	v, err := persistence.Value(b, persistence.ValueDescriptor[int]{Name: "value", Codec: JSONCodec[int]{}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A subtask state mixing copied and streamed parts encodes as
// MarshalBinary does, and decodes to the same states.
func TestEncodedState_mixedParts(t *testing.T) {
	b := newBoltTaskBackend(t)
	v, err := persistence.Value(b, persistence.ValueDescriptor[int]{Name: "value", Codec: JSONCodec[int]{}})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 100 {
		b.SetCurrentKey(k)
		v.Update(k)
	}
	bolt, err := keyedSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	ops := &persistence.OperatorSnapshot{Lists: map[string][][]byte{"offsets": {[]byte("12")}}}
	st := SubtaskState{
		"a":     {Keyed: &persistence.KeyedSnapshot{MaxParallelism: 128, Groups: map[int][]byte{}}, Operator: ops},
		"b":     {KeyedStream: bolt.KeyedStream, Operator: ops},
		"c":     {Operator: ops},
		"empty": nil,
	}
	t.Cleanup(func() { _ = st.Close() })
	restored := restoreEncoded(t, st, "b")
	if n := restored.Entries(); n != 0 { // nothing registered yet: pending
		t.Errorf("%d entries before registration", n)
	}
	restoredValue(t, restored)
	if n := restored.Entries(); n != 100 {
		t.Errorf("%d keys restored, want 100", n)
	}
}
