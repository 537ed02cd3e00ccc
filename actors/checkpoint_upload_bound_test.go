package actors

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// storeGate holds a failure-injecting store's calls until the test opens
// it.
type storeGate struct {
	release  chan struct{}
	once     sync.Once
	held     chan struct{} // closed when the first call is held
	heldOnce sync.Once
	running  atomic.Int64 // calls held or under way
}

func newStoreGate(t *testing.T) *storeGate {
	t.Helper()
	g := &storeGate{release: make(chan struct{}), held: make(chan struct{})}
	t.Cleanup(g.open)
	return g
}

func (g *storeGate) open() { g.once.Do(func() { close(g.release) }) }

// hold counts the call and blocks it until the gate opens; the returned
// func ends the count.
func (g *storeGate) hold() func() {
	g.running.Add(1)
	g.heldOnce.Do(func() { close(g.held) })
	<-g.release
	return func() { g.running.Add(-1) }
}

// waitClosed waits for ch to close, at most d.
func waitClosed(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	eventually(t, d, func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}, what)
}

// openDir opens a directory store under root.
func openDir(t *testing.T, root string) *persistence.DirStore {
	t.Helper()
	s, err := persistence.OpenDirStore(root, 3)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// incompleteDirs lists the checkpoint directories under root without
// metadata: what aborted checkpoints left behind.
func incompleteDirs(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "chk-") {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, e.Name(), "_metadata")); err != nil {
			files, _ := os.ReadDir(filepath.Join(root, e.Name()))
			names := make([]string, 0, len(files))
			for _, f := range files {
				names = append(names, f.Name())
			}
			left = append(left, e.Name()+"["+strings.Join(names, " ")+"]")
		}
	}
	return left
}

// hungWriteStore takes a subtask's state only whole (it has no
// WriteStateFrom: the interface it embeds hides DirStore's), and its
// state writes hang until the test opens its gate.
type hungWriteStore struct {
	CheckpointStore
	dir *persistence.DirStore
	*storeGate
}

func (s *hungWriteStore) WriteState(id int64, task string, data []byte) (string, error) {
	defer s.hold()()
	return s.CheckpointStore.WriteState(id, task, data)
}

// A state write that hangs in a store without streaming does not hold up
// a cancel: the subtask stops without it, the job ends, and
// Engine.Close waits for the write (within writerGrace) — which, late,
// leaves nothing of its aborted checkpoint behind.
func TestJob_Cancel_doesNotWaitForAHungStateWrite(t *testing.T) {
	dir := openDir(t, filepath.Join(t.TempDir(), "checkpoints"))
	store := &hungWriteStore{CheckpointStore: dir, dir: dir, storeGate: newStoreGate(t)}
	if _, ok := CheckpointStore(store).(StreamingCheckpointStore); ok {
		t.Fatal("the store streams: the test needs one that takes state whole")
	}
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return store, nil }
		c.BatchSize = 64
	})
	p, _ := countPipeline(-1, 61, 5000)
	j := submit(t, e, p)
	waitClosed(t, store.held, 20*time.Second, "a state write to hang")
	cancelled := make(chan struct{})
	go func() {
		defer close(cancelled)
		j.Cancel()
	}()
	waitClosed(t, cancelled, 20*time.Second, "Job.Cancel to return while the store holds a state write")
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_ = e.Close()
	}()
	// The store still holds the write: Close must not return. A while
	// later the store answers.
	if closedWithin(closed, time.Second) {
		t.Fatal("Engine.Close returned while the checkpoint store still held a state write")
	}
	store.open()
	waitClosed(t, closed, 20*time.Second, "Engine.Close to return once the store answered")
	if n := store.running.Load(); n != 0 {
		t.Fatalf("Engine.Close returned while %d state writes still ran", n)
	}
	if left := incompleteDirs(t, dir.Root()); len(left) > 0 {
		t.Fatalf("aborted checkpoints left behind: %v", left)
	}
}

// Engine.Close gives up on a store call past its grace and logs what it
// abandons: the checkpoint and the task.
func TestStoreWork_wait_logsWhatItAbandons(t *testing.T) {
	var w storeWork
	release := make(chan struct{})
	w.Go(func() { <-release }, "checkpoint", int64(7), "task", "3-1")
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	if w.wait(time.Millisecond, log) {
		t.Fatal("wait reported every store call done while one was held")
	}
	for _, want := range []string{"checkpoint=7", "task=3-1"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %q does not name %s", buf.String(), want)
		}
	}
	close(release)
	if !w.wait(20*time.Second, log) {
		t.Fatal("the store call released was not waited for")
	}
}

// blockingDiscardStore's Discard blocks until the test opens its gate,
// once armed.
type blockingDiscardStore struct {
	CheckpointStore
	armed     atomic.Bool
	discarded chan int64 // each discard done, once armed
	*storeGate
}

func (s *blockingDiscardStore) Discard(id int64) error {
	if !s.armed.Load() {
		return s.CheckpointStore.Discard(id)
	}
	defer s.hold()()
	err := s.CheckpointStore.Discard(id)
	s.discarded <- id
	return err
}

// The metadata writer never calls the store on its caller's goroutine
// (the job master's): a discard asked for after its goroutine has
// returned — a late ack's, after the job ended — runs on a goroutine
// the engine owns, which Engine.Close waits for, and a hung Discard then
// blocks neither the master nor the ack.
func TestMetadataWriter_discardAfterClose_neverBlocksTheCaller(t *testing.T) {
	dir := openDir(t, filepath.Join(t.TempDir(), "checkpoints"))
	store := &blockingDiscardStore{CheckpointStore: dir, discarded: make(chan int64, 1), storeGate: newStoreGate(t)}
	var owner storeWork
	w := newMetadataWriter(store, nil, QuietLogger(), func() {}, &owner)
	w.close()
	if !owner.wait(20*time.Second, QuietLogger()) {
		t.Fatal("the writer's goroutine did not return after close")
	}
	if _, err := dir.WriteState(9, "1-0", []byte("late state")); err != nil {
		t.Fatal(err)
	}
	store.armed.Store(true)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		w.discard(9) // as checkpointer.discardLate does on the master's goroutine
	}()
	waitClosed(t, store.held, 20*time.Second, "the late discard to reach the store")
	waitClosed(t, returned, 20*time.Second, "discard to return while the store holds it")
	if owner.wait(time.Millisecond, QuietLogger()) {
		t.Fatal("the engine's store work does not count the late discard")
	}
	store.open()
	if id := <-store.discarded; id != 9 {
		t.Fatalf("discarded checkpoint %d, want 9", id)
	}
	if !owner.wait(20*time.Second, QuietLogger()) {
		t.Fatal("the late discard's goroutine did not return")
	}
	if left := incompleteDirs(t, dir.Root()); len(left) > 0 {
		t.Fatalf("the late state stayed: %v", left)
	}
}

// lateChannelsStore stands for a cluster's shared checkpoint directory:
// the subtasks write through one instance, the job master commits and
// discards through another. It holds the first in-flight-data write of
// a subtask without operator state until the master has discarded that
// checkpoint, then lets it finish regardless: a write that ignored its
// checkpoint's abort, done late.
type lateChannelsStore struct {
	*persistence.DirStore // the master's
	writer                *persistence.DirStore

	mu        sync.Mutex
	states    map[int64]map[string]bool // operator states written
	heldID    int64                     // the checkpoint whose write is held; 0: none yet
	discarded map[int64]chan struct{}
	late      chan string // the held write's handle, once done
}

func (s *lateChannelsStore) discardedCh(id int64) chan struct{} {
	if s.discarded[id] == nil {
		s.discarded[id] = make(chan struct{})
	}
	return s.discarded[id]
}

func (s *lateChannelsStore) WriteState(id int64, task string, data []byte) (string, error) {
	return s.WriteStateFrom(context.Background(), id, task, persistence.BytesSource(data))
}

func (s *lateChannelsStore) WriteStateFrom(ctx context.Context, id int64, task string, src persistence.StateSource) (string, error) {
	s.mu.Lock()
	owner, isChannels := strings.CutSuffix(task, "-channels")
	if !isChannels {
		if s.states[id] == nil {
			s.states[id] = map[string]bool{}
		}
		s.states[id][task] = true
	}
	hold := isChannels && s.heldID == 0 && !s.states[id][owner]
	var discarded chan struct{}
	if hold {
		s.heldID, discarded = id, s.discardedCh(id)
	}
	s.mu.Unlock()
	if !hold {
		return s.writer.WriteStateFrom(ctx, id, task, src)
	}
	<-discarded
	handle, err := s.writer.WriteStateFrom(context.Background(), id, task, src)
	if err == nil {
		s.late <- handle
	}
	return handle, err
}

func (s *lateChannelsStore) Discard(id int64) error {
	err := s.DirStore.Discard(id)
	s.mu.Lock()
	ch := s.discardedCh(id)
	select {
	case <-ch:
	default:
		close(ch)
	}
	s.mu.Unlock()
	return err
}

// An unaligned checkpoint's in-flight data written after the checkpoint
// was aborted and discarded — by a subtask without operator state, whose
// ack carries the in-flight data's handle alone — is discarded when its
// late ack comes, not left in the store for ever.
func TestCheckpointer_lateAckOfInFlightDataOnly_discardsIt(t *testing.T) {
	root := filepath.Join(t.TempDir(), "checkpoints")
	store := &lateChannelsStore{DirStore: openDir(t, root), writer: openDir(t, root),
		states: map[int64]map[string]bool{}, discarded: map[int64]chan struct{}{}, late: make(chan string, 1)}
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Checkpoint.Timeout = 200 * time.Millisecond
		c.Checkpoint.TolerableFailures = 1 << 20
		c.Checkpoint.Unaligned = true
		c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return store, nil }
		c.BatchSize, c.Credits = 16, 2
	})
	p := operators.NewPipeline("late-channels")
	src := operators.Generate(p, -1, func(i int64) event { return event{Key: i % 13, Seq: i} }).Parallelism(1)
	stateless := operators.Map(src, func(e event) event { return e }).Name("stateless").Parallelism(2)
	ks := operators.KeyBy(stateless, func(e event) int64 { return e.Key })
	operators.Collect(operators.ProcessKeyed(ks, slowCount).Name("count").Parallelism(1))
	j := submit(t, e, p)
	var handle string
	select {
	case handle = <-store.late:
	case <-time.After(60 * time.Second):
		t.Fatal("no in-flight data was written late")
	}
	store.mu.Lock()
	id := store.heldID
	store.mu.Unlock()
	chk := filepath.Join(root, "chk-"+strconv.FormatInt(id, 10))
	// The late ack comes to the master, which discards what it names.
	eventually(t, 20*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(chk, handle))
		return os.IsNotExist(err) || j.State() != JobRunning
	}, "the late in-flight data to be discarded")
	j.Cancel()
	_ = e.Close() // waits for the discards and writes the job left under way
	if left := incompleteDirs(t, root); len(left) > 0 {
		t.Fatalf("aborted checkpoints left behind: %v (checkpoint %d's in-flight data written late: %s)", left, id, handle)
	}
}

// slowCount counts like countEvent, spending a while on each record so
// that the input backs up and unaligned barriers overtake data.
func slowCount(ctx *operators.KeyedContext[int64], e event, out operators.Collector[counted]) error {
	x := e.Seq
	for range 20000 {
		x = x*6364136223846793005 + 1442695040888963407
	}
	if x == 0 {
		e.Seq++ // never: keeps the loop
	}
	return countEvent(ctx, e, out)
}

// A run continued on the store of an earlier one (ContinueRun, same
// engine, no FirstCheckpointID) must not number a checkpoint with an ID
// the earlier run began: the earlier run's discard of that checkpoint
// (aborted when it was cancelled) runs in the engine's writers after the
// run ended, as late as its store answers, and would then remove the
// states the continued run wrote under the same ID — and, once that
// checkpoint's metadata is committed, leave a complete checkpoint whose
// state is gone. Begin lifting the discard's refusal does not help: the
// discard comes after it.
func TestCheckpointer_continuedRun_doesNotReuseAnIDTheEarlierRunBegan(t *testing.T) {
	dir := openDir(t, filepath.Join(t.TempDir(), "checkpoints"))
	// The earlier run: checkpoint 1 complete, checkpoint 2 begun and
	// partly written when it was cancelled; its discard is still to run.
	h1, err := dir.WriteState(1, "1-0", []byte("earlier run, 1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.CommitMetadata(&persistence.Metadata{ID: 1, Job: "count", MaxParallelism: 8,
		Tasks: []persistence.TaskState{{Vertex: "count", Subtask: 0, Parallelism: 1, Handle: h1}}}); err != nil {
		t.Fatal(err)
	}
	dir.Begin(2)
	if _, err := dir.WriteState(2, "1-0", []byte("earlier run, 2")); err != nil {
		t.Fatal(err)
	}

	// The continued run numbers its checkpoints, begins its first and
	// writes its state.
	c := &checkpointer{m: &master{}, store: dir}
	first, err := c.firstID()
	if err != nil {
		t.Fatal(err)
	}
	dir.Begin(first)
	h, err := dir.WriteState(first, "1-0", []byte("continued run"))
	if err != nil {
		t.Fatalf("the continued run's first checkpoint %d refuses its state: %v", first, err)
	}

	// The earlier run's discard of its checkpoint 2 comes now.
	if err := dir.Discard(2); err != nil {
		t.Fatal(err)
	}
	path, err := dir.CommitMetadata(&persistence.Metadata{ID: first, Job: "count", MaxParallelism: 8,
		Tasks: []persistence.TaskState{{Vertex: "count", Subtask: 0, Parallelism: 1, Handle: h}}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := dir.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.ReadState(h); err != nil {
		t.Fatalf("the continued run numbered its first checkpoint %d, an ID the earlier run began: "+
			"the earlier run's late discard removed the state of the complete checkpoint: %v", first, err)
	}
}
