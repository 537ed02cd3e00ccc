package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/cluster"
	"github.com/troupe-dev/troupe/persistence"
)

// The conformance suite of cluster.Store: every implementation runs it
// (store_file_test.go, store_nats_test.go). A harness opens instances of
// one store — each call a new one on the same storage, as another node
// or process would — and lists what the store holds of a run.
type storeHarness struct {
	// open returns a new instance of the store; the test closes it.
	open func(t *testing.T) cluster.Store
	// leftovers lists everything the store keeps for a run besides what
	// its complete checkpoints hold: stray files or objects, partial
	// writes, orphan chunks; "chk-<id>/<name>" each.
	leftovers func(t *testing.T, job, run string, complete []int64) []string
}

func runStoreSuite(t *testing.T, h storeHarness) {
	tests := []struct {
		name string
		run  func(t *testing.T, h storeHarness)
	}{
		{"jobs: get, create, update", testJobsBasics},
		{"jobs: stale revision", testJobsStale},
		{"jobs: keys", testJobsKeys},
		{"jobs: bad keys", testJobsBadKeys},
		{"jobs: create race", testJobsCreateRace},
		{"jobs: compare-and-set race", testJobsCASRace},
		{"jobs: delete", testJobsDelete},
		{"jobs: delete races an update", testJobsDeleteRace},
		{"checkpoints: newest first, read from another instance", testCheckpointsOrder},
		{"checkpoints: retention keeps the newest and every savepoint", testCheckpointsRetention},
		{"checkpoints: a checkpoint in progress survives retention", testCheckpointsInProgress},
		{"checkpoints: discard", testCheckpointsDiscard},
		{"checkpoints: open another run's path", testCheckpointsOtherRun},
		{"checkpoints: runs whose names nest stay apart", testCheckpointsNestedNames},
		{"checkpoints: no checkpoint at a path", testCheckpointsMissing},
		{"checkpoints: a cancelled streaming write leaves nothing", testCheckpointsCancelledWrite},
		{"checkpoints: a large state streams", testCheckpointsLargeState},
		{"checkpoints: leftovers of an earlier process go", testCheckpointsLeftovers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, h) })
	}
}

// instance opens an instance closed at the end of the test.
func (h storeHarness) instance(t *testing.T) cluster.Store {
	t.Helper()
	s := h.open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second close: %v", err)
		}
	})
	return s
}

var bg = context.Background()

// uniqueKey keeps the subtests of one store apart.
func uniqueKey(t *testing.T, base string) string {
	return base + "-" + actors.NewRunID()
}

func testJobsBasics(t *testing.T, h storeHarness) {
	jobs := h.instance(t).Jobs()
	key := uniqueKey(t, "job")
	if _, _, err := jobs.Get(bg, key); !errors.Is(err, persistence.ErrRecordNotFound) {
		t.Fatalf("get of a new key: %v, want ErrRecordNotFound", err)
	}
	rev, err := jobs.Create(bg, key, []byte("owner=n1 epoch=1"))
	if err != nil || rev == 0 {
		t.Fatalf("create: revision %d, %v", rev, err)
	}
	if _, err := jobs.Create(bg, key, []byte("owner=n2 epoch=1")); !errors.Is(err, persistence.ErrRecordExists) || !strings.Contains(err.Error(), key) {
		t.Fatalf("second create: %v, want ErrRecordExists naming the key", err)
	}
	v, got, err := jobs.Get(bg, key)
	if err != nil || got != rev || string(v) != "owner=n1 epoch=1" {
		t.Fatalf("get: %q at %d, %v; want the created value at %d", v, got, err, rev)
	}
	next, err := jobs.Update(bg, key, []byte("owner=n1 epoch=2"), rev)
	if err != nil || next <= rev {
		t.Fatalf("update at the current revision %d: revision %d, %v", rev, next, err)
	}
	v, got, err = jobs.Get(bg, key)
	if err != nil || got != next || string(v) != "owner=n1 epoch=2" {
		t.Fatalf("get after update: %q at %d, %v", v, got, err)
	}
	empty := uniqueKey(t, "empty")
	if _, err := jobs.Create(bg, empty, nil); err != nil {
		t.Fatalf("create with an empty value: %v", err)
	}
	if v, _, err := jobs.Get(bg, empty); err != nil || len(v) != 0 {
		t.Fatalf("empty value: %q, %v", v, err)
	}
}

func testJobsStale(t *testing.T, h storeHarness) {
	a, b := h.instance(t).Jobs(), h.instance(t).Jobs()
	key := uniqueKey(t, "job")
	rev, err := a.Create(bg, key, []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Update(bg, key, []byte("2"), rev); err != nil {
		t.Fatalf("update through the second instance: %v", err)
	}
	_, err = a.Update(bg, key, []byte("3"), rev)
	if !errors.Is(err, persistence.ErrStaleRevision) || !strings.Contains(err.Error(), key) {
		t.Fatalf("update at a stale revision: %v, want ErrStaleRevision naming the key", err)
	}
	if v, _, _ := a.Get(bg, key); string(v) != "2" {
		t.Fatalf("a stale update changed the value to %q", v)
	}
	if _, err := a.Update(bg, uniqueKey(t, "missing"), []byte("x"), rev); !errors.Is(err, persistence.ErrStaleRevision) {
		t.Fatalf("update of a key without value: %v, want ErrStaleRevision", err)
	}
}

func testJobsKeys(t *testing.T, h storeHarness) {
	jobs := h.instance(t).Jobs()
	var want []string
	for i := range 3 {
		key := uniqueKey(t, fmt.Sprintf("k%d", i))
		if _, err := jobs.Create(bg, key, []byte("v")); err != nil {
			t.Fatal(err)
		}
		want = append(want, key)
	}
	keys, err := h.instance(t).Jobs().Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range want {
		if !slices.Contains(keys, k) {
			t.Errorf("keys %v lack %s", keys, k)
		}
	}
}

func testJobsBadKeys(t *testing.T, h storeHarness) {
	jobs := h.instance(t).Jobs()
	for _, key := range []string{"", "a.b", "a/b", "a b", "*", ">", strings.Repeat("k", 129)} {
		if _, err := jobs.Create(bg, key, []byte("v")); err == nil {
			t.Errorf("create of key %q succeeded", key)
		}
		if _, _, err := jobs.Get(bg, key); err == nil || errors.Is(err, persistence.ErrRecordNotFound) {
			t.Errorf("get of key %q: %v, want an error about the key", key, err)
		}
	}
}

// Of creates of one key racing through two instances, exactly one wins.
func testJobsCreateRace(t *testing.T, h storeHarness) {
	insts := []cluster.JobStore{h.instance(t).Jobs(), h.instance(t).Jobs()}
	key := uniqueKey(t, "race")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = insts[i%2].Create(bg, key, fmt.Appendf(nil, "writer %d", i)) })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, persistence.ErrRecordExists):
			t.Errorf("writer %d: %v, want success or ErrRecordExists", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creates won, want exactly 1", won)
	}
}

// Goroutines on two instances increment a counter by compare-and-set,
// retrying on a stale revision: no increment is lost.
func testJobsCASRace(t *testing.T, h storeHarness) {
	insts := []cluster.JobStore{h.instance(t).Jobs(), h.instance(t).Jobs()}
	key := uniqueKey(t, "counter")
	if _, err := insts[0].Create(bg, key, []byte("0")); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	stale := 0
	for w := range writers {
		wg.Go(func() {
			jobs := insts[w%2]
			for range each {
				for {
					v, rev, err := jobs.Get(bg, key)
					if err == nil {
						var n int
						fmt.Sscan(string(v), &n)
						_, err = jobs.Update(bg, key, fmt.Append(nil, n+1), rev)
					}
					if err == nil {
						break
					}
					mu.Lock()
					if errors.Is(err, persistence.ErrStaleRevision) {
						stale++
						mu.Unlock()
						continue
					}
					failures = append(failures, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	v, _, err := insts[1].Get(bg, key)
	if err != nil || string(v) != fmt.Sprint(writers*each) {
		t.Fatalf("counter %q (%v), want %d", v, err, writers*each)
	}
	t.Logf("%d stale revisions retried", stale)
}

// Delete is a compare-and-delete: refused at a stale revision, and once
// done, nothing of the key is left, for any instance.
func testJobsDelete(t *testing.T, h storeHarness) {
	a, b := h.instance(t).Jobs(), h.instance(t).Jobs()
	key := uniqueKey(t, "job")
	rev1, err := a.Create(bg, key, []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	rev2, err := a.Update(bg, key, []byte("2"), rev1)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(bg, key, rev1); !errors.Is(err, persistence.ErrStaleRevision) || !strings.Contains(err.Error(), key) {
		t.Fatalf("delete at a stale revision: %v, want ErrStaleRevision naming the key", err)
	}
	if v, _, err := a.Get(bg, key); err != nil || string(v) != "2" {
		t.Fatalf("after a refused delete: %q, %v", v, err)
	}
	if err := b.Delete(bg, key, rev2); err != nil {
		t.Fatalf("delete at the current revision: %v", err)
	}
	for name, jobs := range map[string]cluster.JobStore{"the deleting instance": b, "another instance": a} {
		if _, _, err := jobs.Get(bg, key); !errors.Is(err, persistence.ErrRecordNotFound) {
			t.Errorf("get through %s after delete: %v, want ErrRecordNotFound", name, err)
		}
		keys, err := jobs.Keys(bg)
		if err != nil || slices.Contains(keys, key) {
			t.Errorf("keys through %s after delete: %v (%v), want them without %s", name, keys, err, key)
		}
	}
	if _, err := a.Update(bg, key, []byte("3"), rev2); !errors.Is(err, persistence.ErrStaleRevision) {
		t.Errorf("update of a deleted key: %v, want ErrStaleRevision", err)
	}
	if err := a.Delete(bg, key, rev2); !errors.Is(err, persistence.ErrRecordNotFound) {
		t.Errorf("second delete: %v, want ErrRecordNotFound", err)
	}
	if err := a.Delete(bg, uniqueKey(t, "missing"), 1); !errors.Is(err, persistence.ErrRecordNotFound) {
		t.Errorf("delete of a key never written: %v, want ErrRecordNotFound", err)
	}
}

// A delete and an update at the same revision race through two
// instances: exactly one of them wins.
func testJobsDeleteRace(t *testing.T, h storeHarness) {
	a, b := h.instance(t).Jobs(), h.instance(t).Jobs()
	for i := range 4 {
		key := uniqueKey(t, fmt.Sprintf("race%d", i))
		rev, err := a.Create(bg, key, []byte("1"))
		if err != nil {
			t.Fatal(err)
		}
		var delErr, updErr error
		var wg sync.WaitGroup
		wg.Go(func() { delErr = a.Delete(bg, key, rev) })
		wg.Go(func() { _, updErr = b.Update(bg, key, []byte("2"), rev) })
		wg.Wait()
		switch {
		case delErr == nil && errors.Is(updErr, persistence.ErrStaleRevision):
			if _, _, err := b.Get(bg, key); !errors.Is(err, persistence.ErrRecordNotFound) {
				t.Errorf("the delete won, yet get: %v", err)
			}
		case updErr == nil && errors.Is(delErr, persistence.ErrStaleRevision):
			if v, _, err := b.Get(bg, key); err != nil || string(v) != "2" {
				t.Errorf("the update won, yet get: %q, %v", v, err)
			}
		default:
			t.Errorf("delete %v, update %v: want exactly one to win, the other stale", delErr, updErr)
		}
	}
}

// meta is the metadata of a checkpoint of one subtask.
func meta(job, run string, id int64, savepoint bool, handle string) *persistence.Metadata {
	return &persistence.Metadata{ID: id, Savepoint: savepoint, Job: job, Run: run, MaxParallelism: 8,
		Tasks: []persistence.TaskState{{Vertex: "v1", Operators: []string{"v1"}, Subtask: 0, Parallelism: 1, Handle: handle}}}
}

func stateOf(id int64) []byte { return fmt.Appendf(nil, "state of checkpoint %d", id) }

// complete writes a checkpoint whole and returns its path.
func complete(t *testing.T, cs actors.CheckpointStore, job, run string, id int64, savepoint bool) string {
	t.Helper()
	h, err := cs.WriteState(id, "v1/0", stateOf(id))
	if err != nil {
		t.Fatal(err)
	}
	path, err := cs.CommitMetadata(meta(job, run, id, savepoint, h))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func checkpointsOf(t *testing.T, s cluster.Store, job, run string) actors.CheckpointStore {
	t.Helper()
	cs, err := s.Checkpoints(job, run)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// readBack opens path through s and checks the state of checkpoint id.
func readBack(t *testing.T, s cluster.Store, path string, id int64) {
	t.Helper()
	cp, err := s.OpenCheckpoint(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	b, err := cp.ReadState(cp.Meta.Tasks[0].Handle)
	if err != nil || string(b) != string(stateOf(id)) || cp.Meta.ID != id || cp.Path != path {
		t.Fatalf("%s: id %d, path %s, state %q, %v; want checkpoint %d", path, cp.Meta.ID, cp.Path, b, err, id)
	}
}

func ids(t *testing.T, cs actors.CheckpointStore) []int64 {
	t.Helper()
	paths, err := cs.Checkpoints()
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, p := range paths {
		cp, err := cs.Open(p)
		if err != nil {
			t.Fatalf("open listed %s: %v", p, err)
		}
		out = append(out, cp.Meta.ID)
	}
	return out
}

func testCheckpointsOrder(t *testing.T, h storeHarness) {
	job, run := "wordcount", actors.NewRunID()
	cs := checkpointsOf(t, h.instance(t), job, run)
	var paths []string
	for id := int64(1); id <= 3; id++ {
		paths = append(paths, complete(t, cs, job, run, id, false))
	}
	other := h.instance(t)
	listed, err := checkpointsOf(t, other, job, run).Checkpoints()
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(paths)
	if !slices.Equal(listed, paths) {
		t.Fatalf("checkpoints %v, want %v (newest first)", listed, paths)
	}
	for i, p := range paths {
		readBack(t, other, p, int64(3-i))
	}
	if got := ids(t, checkpointsOf(t, other, job, actors.NewRunID())); len(got) != 0 {
		t.Fatalf("another run lists checkpoints %v", got)
	}
}

func testCheckpointsRetention(t *testing.T, h storeHarness) {
	job, run := "wordcount", actors.NewRunID()
	s := h.instance(t)
	cs := checkpointsOf(t, s, job, run)
	sp2 := complete(t, cs, job, run, 2, true)
	complete(t, cs, job, run, 1, false)
	for id := int64(3); id <= 6; id++ {
		complete(t, cs, job, run, id, false)
	}
	sp7 := complete(t, cs, job, run, 7, true)
	complete(t, cs, job, run, 8, false)
	want := []int64{8, 7, 6, 5, 2} // the newest three checkpoints and every savepoint
	if got := ids(t, cs); !slices.Equal(got, want) {
		t.Fatalf("retained %v, want %v", got, want)
	}
	readBack(t, h.instance(t), sp2, 2)
	readBack(t, s, sp7, 7)
	if left := h.leftovers(t, job, run, want); len(left) > 0 {
		t.Errorf("retention left %v", left)
	}
}

// A checkpoint in progress — its state written through another instance
// (another node), begun on the master's — is not removed by retention
// when newer checkpoints complete first (a savepoint may), and completes
// afterwards.
func testCheckpointsInProgress(t *testing.T, h storeHarness) {
	job, run := "wordcount", actors.NewRunID()
	master := checkpointsOf(t, h.instance(t), job, run)
	node := checkpointsOf(t, h.instance(t), job, run)
	complete(t, master, job, run, 1, false)
	if b, ok := master.(interface{ Begin(int64) }); ok {
		b.Begin(2)
	} else {
		t.Fatalf("%T has no Begin", master)
	}
	handle, err := node.WriteState(2, "v1/0", stateOf(2))
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(3); id <= 7; id++ {
		complete(t, master, job, run, id, false)
	}
	path, err := master.CommitMetadata(meta(job, run, 2, true, handle))
	if err != nil {
		t.Fatal(err)
	}
	readBack(t, h.instance(t), path, 2)
	complete(t, master, job, run, 8, false)
	if got := ids(t, master); !slices.Equal(got, []int64{8, 7, 6, 2}) {
		t.Fatalf("retained %v, want 8, 7, 6 and the savepoint 2", got)
	}
}

func testCheckpointsDiscard(t *testing.T, h storeHarness) {
	job, run := "wordcount", actors.NewRunID()
	cs := checkpointsOf(t, h.instance(t), job, run)
	complete(t, cs, job, run, 1, false)
	node := checkpointsOf(t, h.instance(t), job, run)
	for _, task := range []string{"v1/0", "v1/1", "v2/0"} {
		if _, err := node.WriteState(2, task, []byte("aborted")); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.Discard(2); err != nil {
		t.Fatal(err)
	}
	if err := cs.Discard(1); err != nil { // complete: stays
		t.Fatal(err)
	}
	if err := cs.Discard(99); err != nil { // nothing written
		t.Fatalf("discard of a checkpoint never written: %v", err)
	}
	if got := ids(t, cs); !slices.Equal(got, []int64{1}) {
		t.Fatalf("checkpoints %v after discards, want [1]", got)
	}
	if left := h.leftovers(t, job, run, []int64{1}); len(left) > 0 {
		t.Errorf("discard left %v", left)
	}
}

// A run restores from a savepoint of another run: its own store opens
// the path, and so does the store's OpenCheckpoint.
func testCheckpointsOtherRun(t *testing.T, h storeHarness) {
	job := "wordcount"
	old := actors.NewRunID()
	sp := complete(t, checkpointsOf(t, h.instance(t), job, old), job, old, 4, true)
	s := h.instance(t)
	cp, err := checkpointsOf(t, s, job, actors.NewRunID()).Open(sp)
	if err != nil {
		t.Fatalf("a new run's store opens %s: %v", sp, err)
	}
	if b, err := cp.ReadState(cp.Meta.Tasks[0].Handle); err != nil || string(b) != string(stateOf(4)) || cp.Meta.Run != old {
		t.Fatalf("savepoint of another run: run %q, state %q, %v", cp.Meta.Run, b, err)
	}
	readBack(t, s, sp, 4)
}

// Job names may hold '/' and '.': job "team/word.count" and job "team"
// with a run "word.count" keep their checkpoints apart, retention
// included.
func testCheckpointsNestedNames(t *testing.T, h storeHarness) {
	s := h.instance(t)
	run := actors.NewRunID()
	outer := checkpointsOf(t, s, "team", "word.count")
	inner := checkpointsOf(t, s, "team/word.count", run)
	complete(t, inner, "team/word.count", run, 1, false)
	p := complete(t, inner, "team/word.count", run, 2, false)
	for id := int64(1); id <= 5; id++ {
		complete(t, outer, "team", "word.count", id, false)
	}
	if got := ids(t, inner); !slices.Equal(got, []int64{2, 1}) {
		t.Fatalf("job team/word.count lists %v, want [2 1]", got)
	}
	if got := ids(t, outer); !slices.Equal(got, []int64{5, 4, 3}) {
		t.Fatalf("job team, run word.count lists %v, want [5 4 3]", got)
	}
	readBack(t, h.instance(t), p, 2)
}

func testCheckpointsMissing(t *testing.T, h storeHarness) {
	s := h.instance(t)
	job, run := "wordcount", actors.NewRunID()
	cs := checkpointsOf(t, s, job, run)
	path := complete(t, cs, job, run, 1, false)
	missing := strings.Replace(path, "chk-1", "chk-2", 1)
	if _, err := s.OpenCheckpoint(missing); !errors.Is(err, persistence.ErrNoCheckpoint) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("open %s: %v, want ErrNoCheckpoint and os.ErrNotExist", missing, err)
	}
	if _, err := cs.Open(missing); !errors.Is(err, persistence.ErrNoCheckpoint) {
		t.Errorf("the run's store opens %s: %v, want ErrNoCheckpoint", missing, err)
	}
	for _, bad := range []string{"", "chk-1", "nats://", "nats://b/j/chk-1", "nats://b/j/r/chk-x", "nats://b/j/r/chk-01"} {
		if _, err := s.OpenCheckpoint(bad); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("open %q: %v, want os.ErrNotExist", bad, err)
		}
	}
}

// slowSource encodes half of its state, then waits for its context.
type slowSource struct {
	size    int64
	started chan struct{}
}

func (s *slowSource) Size(context.Context) (int64, error) { return s.size, nil }

func (s *slowSource) Encode(ctx context.Context, w io.Writer) error {
	chunk := make([]byte, 64<<10)
	for written := int64(0); written < s.size/2; written += int64(len(chunk)) {
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
	close(s.started)
	<-ctx.Done()
	return context.Cause(ctx)
}

// A streaming write whose context ends midway fails with the cause and
// leaves no state behind, also after megabytes went out (20 MiB: more
// than a NATS store holds in memory to retry a write).
func testCheckpointsCancelledWrite(t *testing.T, h storeHarness) {
	job, run := "wordcount", actors.NewRunID()
	cs, ok := checkpointsOf(t, h.instance(t), job, run).(actors.StreamingCheckpointStore)
	if !ok {
		t.Fatal("not a streaming checkpoint store")
	}
	src := &slowSource{size: 20 << 20, started: make(chan struct{})}
	ctx, cancel := context.WithCancelCause(bg)
	cause := errors.New("subsumed by checkpoint 2")
	var wg sync.WaitGroup
	var err error
	wg.Go(func() { _, err = cs.WriteStateFrom(ctx, 1, "v1/0", src) })
	<-src.started
	cancel(cause)
	wg.Wait()
	if !errors.Is(err, cause) {
		t.Fatalf("cancelled write: %v, want the context's cause", err)
	}
	if left := h.leftovers(t, job, run, nil); len(left) > 0 {
		t.Fatalf("a cancelled write left %v", left)
	}
	if _, err := cs.WriteStateFrom(bg, 1, "v1/0", persistence.BytesSource(stateOf(1))); err != nil {
		t.Fatalf("the write again: %v", err)
	}
}

// A state of 20 MiB, streamed, reads back whole.
func testCheckpointsLargeState(t *testing.T, h storeHarness) {
	job, run := "wordcount", actors.NewRunID()
	cs := checkpointsOf(t, h.instance(t), job, run).(actors.StreamingCheckpointStore)
	state := make([]byte, 20<<20)
	for i := range state {
		state[i] = byte(i * 7)
	}
	handle, err := cs.WriteStateFrom(bg, 1, "v1/0", persistence.BytesSource(state))
	if err != nil {
		t.Fatal(err)
	}
	path, err := cs.CommitMetadata(meta(job, run, 1, false, handle))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := h.instance(t).OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cp.ReadState(handle)
	if err != nil || !bytes.Equal(b, state) {
		t.Fatalf("read back %d bytes (%v), want the 20 MiB written", len(b), err)
	}
}

// What a process that died during a checkpoint wrote goes with the
// retention of the next process once a newer checkpoint completed.
func testCheckpointsLeftovers(t *testing.T, h storeHarness) {
	job, run := "wordcount", actors.NewRunID()
	dead := checkpointsOf(t, h.instance(t), job, run)
	complete(t, dead, job, run, 1, false)
	if _, err := dead.WriteState(2, "v1/0", []byte("died here")); err != nil {
		t.Fatal(err)
	}
	next := checkpointsOf(t, h.instance(t), job, run)
	complete(t, next, job, run, 3, false)
	if left := h.leftovers(t, job, run, []int64{3, 1}); len(left) > 0 {
		t.Fatalf("the leftovers of the dead process are still there: %v", left)
	}
}

// fileLeftovers lists the files of a run in a file store's directory
// that its complete checkpoints do not hold.
func fileLeftovers(t *testing.T, dir, job, run string, complete []int64) []string {
	t.Helper()
	root := filepath.Join(dir, job, run)
	var out []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			return nil
		}
		chk, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		if !slices.ContainsFunc(complete, func(id int64) bool { return chk == fmt.Sprintf("chk-%d", id) }) {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
