package actors

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/troupe-dev/troupe/barrier"
	"github.com/troupe-dev/troupe/persistence"
)

// gatedStore wraps a job's checkpoint store so that a test can order the
// store's calls against the coordinator's events with channels: it holds
// the metadata commits that hold selects until the test releases them,
// fails those that fail selects, and records the discards.
type gatedStore struct {
	CheckpointStore
	hold func(m *persistence.Metadata) bool // commits to hold until release
	fail func(m *persistence.Metadata) bool // commits to refuse

	held     chan int64    // the ID of each commit that starts being held
	release  chan struct{} // a send lets one held commit go on; open closes it
	released sync.Once

	mu        sync.Mutex
	started   map[int64]bool // commits called
	discarded map[int64]bool
	committed map[int64]string
	writing   int // commits running now
	overlap   bool
}

var errInjectedCommit = errors.New("injected metadata commit failure")

// newGatedStore wraps s; the gate opens when the test ends, so that a
// failed test does not leave a commit held (the job's end waits for it).
func newGatedStore(t testing.TB, s CheckpointStore) *gatedStore {
	g := &gatedStore{CheckpointStore: s, held: make(chan int64, 16), release: make(chan struct{}),
		started: map[int64]bool{}, discarded: map[int64]bool{}, committed: map[int64]string{}}
	t.Cleanup(g.open)
	return g
}

func (g *gatedStore) CommitMetadata(m *persistence.Metadata) (string, error) {
	g.mu.Lock()
	g.started[m.ID] = true
	g.writing++
	g.overlap = g.overlap || g.writing > 1
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.writing--
		g.mu.Unlock()
	}()
	if g.hold != nil && g.hold(m) {
		select {
		case g.held <- m.ID:
		default: // the test reads the first ones only
		}
		<-g.release
	}
	if g.fail != nil && g.fail(m) {
		return "", errInjectedCommit
	}
	path, err := g.CheckpointStore.CommitMetadata(m)
	if err == nil {
		g.mu.Lock()
		g.committed[m.ID] = path
		g.mu.Unlock()
	}
	return path, err
}

func (g *gatedStore) Discard(id int64) error {
	g.mu.Lock()
	g.discarded[id] = true
	g.mu.Unlock()
	return g.CheckpointStore.Discard(id)
}

// next lets one held commit go on (it waits for one to be held).
func (g *gatedStore) next() { g.release <- struct{}{} }

// open lets the held commits go on, and every later one; safe to call
// twice.
func (g *gatedStore) open() { g.released.Do(func() { close(g.release) }) }

func (g *gatedStore) commitStarted(id int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started[id]
}

// commitsRunning counts the CommitMetadata calls under way.
func (g *gatedStore) commitsRunning() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writing
}

func (g *gatedStore) wasDiscarded(id int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.discarded[id]
}

// commitsOverlapped reports whether two CommitMetadata calls ever ran at
// once, which the store's contract forbids.
func (g *gatedStore) commitsOverlapped() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.overlap
}

// gatedDirStore returns a checkpoint store option over a directory store
// in a temporary directory, and the gate around it.
func gatedDirStore(t testing.TB) (*gatedStore, func(string, string) (CheckpointStore, error)) {
	t.Helper()
	dir, err := persistence.OpenDirStore(filepath.Join(t.TempDir(), "checkpoints"), 2)
	if err != nil {
		t.Fatal(err)
	}
	g := newGatedStore(t, dir)
	return g, func(string, string) (CheckpointStore, error) { return g, nil }
}

// checkRestorable opens the savepoint or checkpoint at path as a user
// resuming from it would, and reads every state file it lists.
func checkRestorable(t testing.TB, path string) *persistence.Checkpoint {
	t.Helper()
	cp, err := persistence.OpenCheckpoint(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	for _, task := range cp.Meta.Tasks {
		if task.Handle == "" {
			continue
		}
		if _, err := cp.ReadState(task.Handle); err != nil {
			t.Fatalf("%s lists state %s of %s#%d: %v", path, task.Handle, task.Vertex, task.Subtask, err)
		}
	}
	return cp
}

// checkpointStats returns the statistics of the recently ended
// checkpoints, then of the pending ones, oldest first; nil once the job
// has ended or without checkpointing.
func (j *Job) checkpointStats() []barrier.Stats {
	var out []barrier.Stats
	j.inspect(func(m *master) {
		if m.ckpt == nil {
			return
		}
		out = m.ckpt.coord.History()
		for _, id := range m.ckpt.coord.Pending() {
			if s, ok := m.ckpt.coord.Stats(id); ok {
				out = append(out, s)
			}
		}
	})
	return out
}
