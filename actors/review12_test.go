package actors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/persistence"
)

// checkpointEnded reports whether checkpoint id has ended (completed or
// aborted) in j's coordinator, and its stats.
func checkpointEnded(j *Job, id int64) (barrier.Stats, bool) {
	for _, s := range j.checkpointStats() {
		if s.ID == id && !s.Ended.IsZero() {
			return s, true
		}
	}
	return barrier.Stats{}, false
}

// Review 12, finding: GuardCommits is asked once, before CommitMetadata,
// and never again. A commit that takes longer than the lease's margin (a
// NATS store retries a commit for up to its Timeout, 30 s by default; a
// process frozen between the guard and the write) lands after the lease
// has run out and another node has taken the job over — and the stale
// master then completes the checkpoint and tells its sinks to commit it.
// DESIGN.md: "a stale master can neither complete a checkpoint nor make a
// sink commit".
func TestReview12_leaseLostDuringMetadataCommitStillCompletes(t *testing.T) {
	const n, keys = 8000, 13
	var owned atomic.Bool
	owned.Store(true)
	errLost := errors.New("lease lost")
	guard := func() error {
		if !owned.Load() {
			return errLost
		}
		return nil
	}
	g, store := gatedDirStore(t)
	var first atomic.Bool
	g.hold = func(*persistence.Metadata) bool { return first.CompareAndSwap(false, true) }
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Checkpoint.TolerableFailures = 1 << 20
		c.Checkpoint.Store = store
	})
	p, sink := countPipeline(n, keys, 2000)
	j := submit(t, e, p, GuardCommits(guard))
	defer j.Cancel()
	var id int64
	select {
	case id = <-g.held:
	case <-time.After(20 * time.Second):
		t.Fatal("no metadata commit began")
	}
	// The guard said yes; while the commit is in flight the lease runs out
	// and another node takes the job over.
	owned.Store(false)
	g.next()
	eventually(t, 20*time.Second, func() bool { _, ok := checkpointEnded(j, id); return ok },
		"the held checkpoint to end")
	st, _ := checkpointEnded(j, id)
	cp, completed := j.LatestCheckpoint()
	if !completed {
		return // as it should be: nothing completed, nothing committed
	}
	// The stale master told its sinks to commit: wait for the commit to show.
	deadline := time.Now().Add(10 * time.Second)
	for len(sink.Values()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("checkpoint %d (status %v) completed (latest %s) and the sink committed %d records, "+
		"although the lease was lost before its metadata commit returned", id, st.Status, cp.Path, len(sink.Values()))
}

// Review 12, finding: a master that takes a run over numbers its
// checkpoints from the run's latest complete one + 1 (firstID), so its
// first checkpoint has the id of the checkpoint the earlier owner had in
// flight, in the same run store, with the same state handles. The earlier
// owner, once it learns it lost the job, aborts its pending checkpoint and
// discards it — removing the new owner's states of that id; the new
// owner then completes a checkpoint whose states are gone, tells its
// sinks to commit it, and can never restore it (nor, by planRestore's
// rule, anything older): the job fails at its next restart.
func TestReview12_staleOwnerDiscardRemovesNewOwnersCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "count", "run")
	open := func() *gatedStore {
		s, err := persistence.OpenDirStore(dir, 3)
		if err != nil {
			t.Fatal(err)
		}
		return newGatedStore(t, s)
	}
	holdFirst := func(g *gatedStore) {
		var first atomic.Bool
		g.hold = func(*persistence.Metadata) bool { return first.CompareAndSwap(false, true) }
	}
	run := NewRunID()

	// The earlier owner (epoch 1): its first checkpoint has every state
	// written, its metadata commit is in flight.
	gOld := open()
	holdFirst(gOld)
	eOld := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Checkpoint.TolerableFailures = 1 << 20
		c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return gOld, nil }
	})
	pOld, _ := countPipeline(8000, 13, 2000)
	jOld := submit(t, eOld, pOld, ContinueRun(run))
	defer jOld.Cancel()
	oldID := waitHeld(t, gOld)

	// The new owner (epoch 2) takes the run over and gets as far as the
	// metadata commit of its own first checkpoint.
	gNew := open()
	holdFirst(gNew)
	eNew := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 10 * time.Millisecond
		c.Checkpoint.TolerableFailures = 1 << 20
		c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return gNew, nil }
	})
	pNew, _ := countPipeline(8000, 13, 2000)
	jNew := submit(t, eNew, pNew, ContinueRun(run), FirstAttempt(1<<16+1), FirstCheckpointID(1<<32+1)) // as the cluster numbers epoch 2
	defer jNew.Cancel()
	newID := waitHeld(t, gNew)
	t.Logf("the earlier owner's pending checkpoint is %d, the new owner's first is %d", oldID, newID)

	// The earlier owner's commit fails (its lease is gone): it aborts and
	// discards its checkpoint.
	gOld.fail = func(m *persistence.Metadata) bool { return m.ID == oldID }
	gOld.next()
	eventually(t, 20*time.Second, func() bool {
		_, ok := checkpointEnded(jOld, oldID)
		return ok && gOld.wasDiscarded(oldID)
	}, "the earlier owner to abort and discard its checkpoint")
	jOld.Cancel() // it stopped: its discards are done

	gNew.open()
	eventually(t, 20*time.Second, func() bool { cp, ok := jNew.LatestCheckpoint(); return ok && cp.ID >= newID },
		"the new owner's first checkpoint to complete")
	cp, _ := jNew.LatestCheckpoint()
	done, err := persistence.OpenCheckpoint(cp.Path)
	if err != nil {
		t.Fatalf("the new owner's complete checkpoint %d cannot be opened: %v", cp.ID, err)
	}
	for _, task := range done.Meta.Tasks {
		if task.Handle == "" {
			continue
		}
		if _, err := done.ReadState(task.Handle); err != nil {
			t.Fatalf("the new owner completed (and told its sinks to commit) checkpoint %d, whose state of %s#%d "+
				"the earlier owner's discard of its own checkpoint %d removed: %v", cp.ID, task.Vertex, task.Subtask, oldID, err)
		}
	}
}

func waitHeld(t *testing.T, g *gatedStore) int64 {
	t.Helper()
	select {
	case id := <-g.held:
		return id
	case <-time.After(20 * time.Second):
		t.Fatal("no metadata commit began")
		return 0
	}
}

// flakyOpenStore fails the first Open, as a store that does not answer
// for a moment does (a NATS store gives up after its Timeout).
type flakyOpenStore struct {
	CheckpointStore
	failed atomic.Bool
}

var errStoreDown = errors.New("injected: the store did not answer")

func (f *flakyOpenStore) Open(path string) (*persistence.Checkpoint, error) {
	if f.failed.CompareAndSwap(false, true) {
		return nil, errStoreDown
	}
	return f.CheckpointStore.Open(path)
}

// Review 12, finding: firstID ignores an error of the store and numbers
// the checkpoints of a continued run (a takeover, a restarted node) from 1
// when the run's newest checkpoint could not be read at that moment. The
// master then restores the run's newest checkpoint N (the store answers
// again) but completes checkpoints 1, 2, … below it: retention removes
// them as the oldest, Checkpoints still lists N first, and the next
// restart goes back to N although the sinks committed past it.
func TestReview12_continuedRunNumbersCheckpointsBelowItsRestore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "count", "run")
	run := NewRunID()
	engine := func(s CheckpointStore) *Engine {
		return newTestEngine(t, func(c *Config) {
			c.Checkpoint.Interval = 10 * time.Millisecond
			c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return s, nil }
		})
	}
	open := func() *persistence.DirStore {
		s, err := persistence.OpenDirStore(dir, 3)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// The first owner completes a few checkpoints, then is lost.
	p1, _ := countPipeline(1<<20, 13, 2000)
	j1 := submit(t, engine(open()), p1, ContinueRun(run))
	eventually(t, 20*time.Second, func() bool { cp, ok := j1.LatestCheckpoint(); return ok && cp.ID >= 4 }, "four checkpoints")
	j1.Cancel()
	before, err := open().Checkpoints()
	if err != nil || len(before) == 0 {
		t.Fatalf("checkpoints of the first owner: %v, %v", before, err)
	}
	newest, err := persistence.OpenCheckpoint(before[0])
	if err != nil {
		t.Fatal(err)
	}

	// The next owner continues the run; the store fails to answer once.
	p2, _ := countPipeline(1<<20, 13, 2000)
	j2 := submit(t, engine(&flakyOpenStore{CheckpointStore: open()}), p2, ContinueRun(run), FirstAttempt(1<<16+1))
	defer j2.Cancel()
	eventually(t, 20*time.Second, func() bool { _, ok := j2.LatestCheckpoint(); return ok }, "a checkpoint of the next owner")
	cp, _ := j2.LatestCheckpoint()
	if cp.ID > newest.Meta.ID {
		return
	}
	after, _ := open().Checkpoints()
	var restored int64
	j2.inspect(func(m *master) {
		if m.plan != nil {
			restored = m.plan.id
		}
	})
	t.Fatalf("the next owner restored checkpoint %d (the run's newest was %d) but completed checkpoint %d (%s) below it; "+
		"the run's checkpoints now, newest first: %v — a restart goes back to %d", restored, newest.Meta.ID, cp.ID, cp.Path, after, newest.Meta.ID)
}

// heldWrites holds the WriteState calls of checkpoint id until release
// closes, reporting the first on held.
type heldWrites struct {
	CheckpointStore
	id      int64
	held    chan string // the task of the first write held
	release chan struct{}
	pending sync.WaitGroup
}

func (h *heldWrites) WriteState(id int64, task string, data []byte) (string, error) {
	if id == h.id {
		h.pending.Add(1)
		defer h.pending.Done()
		select {
		case h.held <- task:
		default:
		}
		<-h.release
	}
	return h.CheckpointStore.WriteState(id, task, data)
}

// Review 12, finding: the same ids in one run store, the other way
// round: a subtask of the earlier owner whose state write for checkpoint
// N was under way when its node froze finishes it when the node thaws —
// after the new owner, whose first checkpoint is also N, completed it.
// The write replaces the state file of the new owner's complete
// checkpoint: it now holds another attempt's snapshot, and a restore
// from it mixes two runs' positions and state.
func TestReview12_staleOwnerStateWriteReplacesCompleteCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "count", "run")
	open := func() *persistence.DirStore {
		s, err := persistence.OpenDirStore(dir, 3)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	run := NewRunID()
	errLost := errors.New("lease lost")

	// The earlier owner's first checkpoint: its state writes are under
	// way (held) when its node freezes; its lease is lost meanwhile.
	held := &heldWrites{CheckpointStore: open(), id: 1, held: make(chan string, 1), release: make(chan struct{})}
	t.Cleanup(func() {
		select {
		case <-held.release:
		default:
			close(held.release)
		}
	})
	eOld := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 300 * time.Millisecond
		c.Checkpoint.TolerableFailures = 1 << 20
		c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return held, nil }
	})
	pOld, _ := countPipeline(1<<20, 13, 2000)
	jOld := submit(t, eOld, pOld, ContinueRun(run), GuardCommits(func() error { return errLost }))
	defer func() { // the held writes first: the job cannot stop while they hang
		select {
		case <-held.release:
		default:
			close(held.release)
		}
		jOld.Cancel()
	}()
	var task string
	select {
	case task = <-held.held:
	case <-time.After(20 * time.Second):
		t.Fatal("no state write of the earlier owner")
	}

	// The new owner takes the run over and completes its checkpoint 1.
	eNew := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 200 * time.Millisecond
		c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return open(), nil }
	})
	pNew, _ := countPipeline(1<<20, 13, 2000)
	jNew := submit(t, eNew, pNew, ContinueRun(run), FirstAttempt(1<<16+1), FirstCheckpointID(1<<32+1)) // as the cluster numbers epoch 2
	eventually(t, 20*time.Second, func() bool { _, ok := jNew.LatestCheckpoint(); return ok }, "the new owner's first checkpoint")
	jNew.Cancel()
	first, _ := jNew.LatestCheckpoint()
	cp, err := persistence.OpenCheckpoint(first.Path)
	if err != nil {
		t.Fatalf("the new owner's checkpoint %d: %v", first.ID, err)
	}
	before := stateFiles(t, cp.Path)

	// The earlier owner's node thaws: its writes go on.
	select {
	case <-held.release:
	default:
		close(held.release)
	}
	held.pending.Wait()
	after := stateFiles(t, cp.Path)
	for name, b := range before {
		if !bytes.Equal(b, after[name]) {
			t.Fatalf("the new owner's complete checkpoint %s: its state file %s (%d bytes) was replaced by the earlier owner's "+
				"late write (of task %s) for its own checkpoint %d (%d bytes)", cp.Path, name, len(b), task, held.id, len(after[name]))
		}
	}
}

// stateFiles reads the state files of the checkpoint directory dir.
func stateFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.state"))
	if err != nil || len(names) == 0 {
		t.Fatalf("state files of %s: %v %v", dir, names, err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = b
	}
	return out
}
