package persistence

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// streamStore is a store that takes state from a StateSource.
type streamStore interface {
	checkpointStore
	WriteStateFrom(ctx context.Context, id int64, task string, src StateSource) (string, error)
}

func streamStores(t *testing.T) map[string]streamStore {
	dir, err := OpenDirStore(t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]streamStore{"dir": dir, "mem": NewMemStore("test", 2)}
}

// readBack completes checkpoint id with the state under handle and
// returns what a restore reads.
func readBack(t *testing.T, s checkpointStore, id int64, handle string) []byte {
	t.Helper()
	path, err := s.CommitMetadata(&Metadata{ID: id, Job: "j", MaxParallelism: 8,
		Tasks: []TaskState{{Vertex: "v1", Subtask: 0, Parallelism: 1, Handle: handle}}})
	if err != nil {
		t.Fatal(err)
	}
	return must(must(s.Open(path)).ReadState(handle))
}

// State streamed from a bbolt snapshot is stored as the same bytes
// would be by WriteState.
func TestStore_WriteStateFrom_sameAsWriteState(t *testing.T) {
	b := newBoltBackend(t, Range{}, nil, 0)
	registerAll(t, b).fill(b, keysIn(50, Range{0, testMaxPar}))
	snap := must(b.BeginSnapshot())
	defer snap.Close()
	data := encodeSnapshot(t, snap)
	for name, s := range streamStores(t) {
		t.Run(name, func(t *testing.T) {
			h := must(s.WriteStateFrom(context.Background(), 1, "v1/0", snap))
			if got := readBack(t, s, 1, h); !bytes.Equal(got, data) {
				t.Fatalf("stored %d bytes, not the snapshot's %d", len(got), len(data))
			}
			if ds, ok := s.(*DirStore); ok {
				file := must(os.ReadFile(filepath.Join(ds.dir(1), h)))
				if !bytes.Equal(file, Seal(KindSubtask, data)) {
					t.Errorf("the file is not the sealed state")
				}
			}
		})
	}
}

// badSource announces size bytes, writes write of them, then fails with
// err (if not nil).
type badSource struct {
	size, write int
	err         error
}

func (s badSource) Size(context.Context) (int64, error) { return int64(s.size), nil }
func (s badSource) Encode(_ context.Context, w io.Writer) error {
	if _, err := w.Write(bytes.Repeat([]byte{'x'}, s.write)); err != nil {
		return err
	}
	return s.err
}

// A source that fails, writes other than it announced, or is cancelled
// leaves nothing in the store: no state, no file.
func TestStore_WriteStateFrom_failureLeavesNothing(t *testing.T) {
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("checkpoint aborted")
	cancel(cause)
	b := newBoltBackend(t, Range{}, nil, 0)
	v := must(Value(b, ValueDescriptor[int]{Name: "v", Codec: intCodec{}}))
	for i := range 3 * snapCheckEvery {
		b.SetCurrentKey(itoa(i))
		v.Update(i)
	}
	snap := must(b.BeginSnapshot())
	defer snap.Close()
	must(snap.Size(context.Background())) // measured: the write itself is cancelled
	tests := []struct {
		name string
		ctx  context.Context
		src  StateSource
		want error
	}{
		{"fails", context.Background(), badSource{size: 10, write: 4, err: boom}, boom},
		{"short", context.Background(), badSource{size: 10, write: 4}, ErrCorrupt},
		{"long", context.Background(), badSource{size: 10, write: 11}, ErrCorrupt},
		{"cancelled", cancelled, snap, cause},
	}
	for name, s := range streamStores(t) {
		for i, tt := range tests {
			id := int64(10 + i)
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				_, err := s.WriteStateFrom(tt.ctx, id, "v1/0", tt.src)
				if !errors.Is(err, tt.want) {
					t.Fatalf("error %v, want one wrapping %v", err, tt.want)
				}
				if ds, ok := s.(*DirStore); ok {
					if files, _ := os.ReadDir(ds.dir(id)); len(files) != 0 {
						t.Errorf("files left: %v", files)
					}
				}
				path := must(s.CommitMetadata(&Metadata{ID: id, Job: "j", MaxParallelism: 8,
					Tasks: []TaskState{{Vertex: "v1", Parallelism: 1, Handle: "v1/0"}}}))
				if got, err := must(s.Open(path)).ReadState("v1/0"); err == nil {
					t.Errorf("a state of %d bytes was kept", len(got))
				}
			})
		}
	}
}
