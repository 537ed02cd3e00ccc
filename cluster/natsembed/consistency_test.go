package natsembed_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-dev/troupe/cluster/natsembed"

	"github.com/troupe-dev/troupe/persistence"
	"github.com/troupe-dev/troupe/persistence/natsstore"
)

// openR3 opens a store with three replicas over three in-process servers
// and waits for its buckets.
func openR3(t *testing.T) (*natsstore.Store, []string) {
	t.Helper()
	u := urls(startCluster(t, 3))
	store, err := natsstore.Open(natsstore.Config{Servers: u, Replicas: 3, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	return store, u
}

// stepDown asks the leader of a stream to step down, retried until one
// answers: the stream is then without a leader for a moment.
func stepDown(t *testing.T, nc *nats.Conn, stream string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		msg, err := nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+stream, nil, 5*time.Second)
		if err == nil && bytes.Contains(msg.Data, []byte(`"success":true`)) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("step down of the leader of %s: %v %s", stream, err, msgData(msg))
			return
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a wait for an event
	}
}

func msgData(m *nats.Msg) string {
	if m == nil {
		return ""
	}
	return string(m.Data)
}

// leaderChangingSource is a state of size bytes that makes the leader of
// a stream step down every `every` bytes while it is written: the
// store's chunks are published while the stream elects leaders.
type leaderChangingSource struct {
	t      *testing.T
	nc     *nats.Conn
	stream string
	data   []byte
	every  int
	downs  int
}

func (s *leaderChangingSource) Size(context.Context) (int64, error) { return int64(len(s.data)), nil }

func (s *leaderChangingSource) Encode(ctx context.Context, w io.Writer) error {
	for off := 0; off < len(s.data); off += 64 << 10 {
		if off > 0 && off%s.every == 0 {
			stepDown(s.t, s.nc, s.stream)
			s.downs++
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := w.Write(s.data[off:min(off+64<<10, len(s.data))]); err != nil {
			return err
		}
	}
	return nil
}

// A 12 MiB state streamed while the leader of the object store's stream
// steps down again and again: the write either fails, or succeeds and
// the state reads back byte for byte — never a write that reports
// success and leaves an object that cannot be read (chunks lost,
// duplicated or out of order).
func TestCluster_StreamedStateSurvivesLeaderChanges(t *testing.T) {
	store, u := openR3(t)
	nc, err := nats.Connect(u[0])
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cs, err := store.Checkpoints("wordcount", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 12<<20)
	for i := range data {
		data[i] = byte(i * 7 / 5)
	}
	src := &leaderChangingSource{t: t, nc: nc, stream: "OBJ_" + store.CheckpointBucket(), data: data, every: 3 << 20}
	h, err := cs.WriteStateFrom(context.Background(), 1, "count/0", src)
	if err != nil {
		t.Fatalf("a 12 MiB state written through %d leader changes: %v", src.downs, err)
	}
	path, err := cs.CommitMetadata(&persistence.Metadata{ID: 1, Job: "wordcount", Run: "run-1", MaxParallelism: 4,
		Tasks: []persistence.TaskState{{Vertex: "count", Subtask: 0, Parallelism: 1, Handle: h}}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := store.OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cp.ReadState(h)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("state written through %d leader changes, reported written: %d bytes (want %d), equal %v, %v",
			src.downs, len(got), len(data), bytes.Equal(got, data), err)
	}
	t.Logf("a 12 MiB state written through %d leader changes and read back", src.downs)
}

// Every read of a job record sees the write acknowledged just before it
// (read-your-writes), whichever server answers it; and every checkpoint
// opens at once after its commit.
func TestCluster_StoreReadsItsOwnWrites(t *testing.T) {
	store, _ := openR3(t)
	ctx := context.Background()
	jobs := store.Jobs()
	rev, err := jobs.Create(ctx, "job-1", []byte("epoch=0"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 200; i++ {
		want := fmt.Sprintf("epoch=%d", i)
		if rev, err = jobs.Update(ctx, "job-1", []byte(want), rev); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		v, got, err := jobs.Get(ctx, "job-1")
		if err != nil || got != rev || string(v) != want {
			t.Fatalf("get after update %d: %q at %d, %v; want %q at %d", i, v, got, err, want, rev)
		}
	}
	cs, err := store.Checkpoints("wordcount", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 50; id++ {
		h, err := cs.WriteState(id, "count/0", []byte(fmt.Sprint(id)))
		if err != nil {
			t.Fatal(err)
		}
		path, err := cs.CommitMetadata(&persistence.Metadata{ID: id, Job: "wordcount", Run: "run-1", MaxParallelism: 4,
			Tasks: []persistence.TaskState{{Vertex: "count", Subtask: 0, Parallelism: 1, Handle: h}}})
		if err != nil {
			t.Fatal(err)
		}
		cp, err := store.OpenCheckpoint(path)
		if err != nil {
			t.Fatalf("open checkpoint %d right after its commit: %v", id, err)
		}
		if b, err := cp.ReadState(h); err != nil || string(b) != fmt.Sprint(id) {
			t.Fatalf("state of checkpoint %d right after its commit: %q, %v", id, b, err)
		}
	}
}

// While no server listens for an object's chunk subject — a stream
// without a leader — each chunk published is answered "no responders"
// (status 503). Here the test answers so, for the first chunks of a
// 300 KiB state, and then gives the chunk subjects back to the stream
// at once: the state must be written and read back byte for byte.
// nats.go's ObjectStore.Put, which publishes every chunk from one reused
// message, sends such chunks again 250 ms later — the last chunk's
// bytes in place of each — and reports success; the object then fails
// its digest at every read.
func TestStore_ChunksAnsweredNoRespondersAreSentAgain(t *testing.T) {
	srv := startServer(t, natsembed.Config{Name: "n1", StoreDir: t.TempDir(), Listen: "127.0.0.1:0"})
	store, err := natsstore.Open(natsstore.Config{Servers: []string{srv.ClientURL()}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	if err := store.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	bucket := store.CheckpointBucket()
	st, err := js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	subjects := cfg.Subjects
	cfg.Subjects = []string{"$O." + bucket + ".M.>"}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	const unanswered = 3
	var n atomic.Int32
	leaderless := make(chan struct{})
	sub, err := nc.Subscribe("$O."+bucket+".C.>", func(m *nats.Msg) {
		r := nats.NewMsg(m.Reply)
		r.Header.Set("Status", "503")
		_ = m.RespondMsg(r)
		if n.Add(1) == unanswered {
			close(leaderless)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := store.Checkpoints("wordcount", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i / 1000)
	}
	type result struct {
		h   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		h, err := cs.WriteState(1, "count/0", data)
		done <- result{h, err}
	}()
	select {
	case <-leaderless:
	case r := <-done:
		t.Fatalf("state written before any chunk was answered no responders: %q, %v", r.h, r.err)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	cfg.Subjects = subjects
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("state whose chunks were answered no responders: %v", r.err)
	}
	path, err := cs.CommitMetadata(&persistence.Metadata{ID: 1, Job: "wordcount", Run: "run-1", MaxParallelism: 4,
		Tasks: []persistence.TaskState{{Vertex: "count", Subtask: 0, Parallelism: 1, Handle: r.h}}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := store.OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cp.ReadState(r.h)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("state whose chunks were answered no responders, reported written: %d bytes (want %d), equal %v, %v",
			len(got), len(data), bytes.Equal(got, data), err)
	}
}
