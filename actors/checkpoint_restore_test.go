package actors

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// damagingStore is a DirStore that, once it holds two complete
// checkpoints, fails the next commit after truncating a state file of the
// newest one — whose completion the sinks were told of: with one
// checkpoint at a time, its Complete went out before the next was
// triggered. The failed commit fails the job over.
type damagingStore struct {
	*persistence.DirStore

	mu      sync.Mutex
	damaged string // the truncated file
}

var errInjectedMetadata = errors.New("injected metadata write failure")

func (s *damagingStore) CommitMetadata(m *persistence.Metadata) (string, error) {
	paths, err := s.Checkpoints()
	if err != nil {
		return "", err
	}
	if len(paths) < 2 || s.damagedFile() != "" {
		return s.DirStore.CommitMetadata(m)
	}
	file, err := truncateState(paths[0])
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.damaged = file
	s.mu.Unlock()
	return "", errInjectedMetadata
}

func (s *damagingStore) damagedFile() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.damaged
}

// truncateState cuts the first state file that the checkpoint at dir
// lists to half its length and returns its path.
func truncateState(dir string) (string, error) {
	cp, err := persistence.OpenCheckpoint(dir)
	if err != nil {
		return "", err
	}
	for _, t := range cp.Meta.Tasks {
		if t.Handle == "" {
			continue
		}
		file := filepath.Join(dir, t.Handle)
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return file, os.WriteFile(file, b[:len(b)/2], 0o644)
	}
	return "", errors.New("the checkpoint lists no state file")
}

// The newest complete checkpoint, which the sinks were told to commit, is
// damaged, and the job then fails: the restart must not fall back to an
// older checkpoint (the sinks would commit the epochs after it again); it
// fails the job with an error naming the damaged file.
func TestCheckpoint_damagedNotifiedCheckpoint_failsRestore(t *testing.T) {
	const n, keys = countRecords, 61
	dir, err := persistence.OpenDirStore(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	store := &damagingStore{DirStore: dir}
	e := newTestEngine(t, func(c *Config) {
		c.Checkpoint.Interval = 20 * time.Millisecond
		c.Checkpoint.Store = func(string, string) (CheckpointStore, error) { return store, nil }
		c.Restart = FixedDelay(3, time.Millisecond)
		c.BatchSize = 64
	})
	p, sink := countPipeline(n, keys, 10000)
	j := submit(t, e, p)
	err = waitJob(t, j)
	file := store.damagedFile()
	if file == "" {
		t.Fatalf("no checkpoint was damaged (job ended: %v): the test proves nothing", err)
	}
	if !errors.Is(err, ErrRestore) || !strings.Contains(fmtErr(err), file) {
		t.Fatalf("job ended with %v after %d restarts; want ErrRestore naming %s", err, j.Restarts(), file)
	}
	seen := map[counted]bool{}
	for _, c := range sink.Values() {
		if seen[c] {
			t.Fatalf("key %d count %d committed twice: the restart fell back to an older checkpoint", c.Key, c.Count)
		}
		seen[c] = true
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// planRestore's rule, case by case, on a DirStore holding checkpoint 1
// (readable, the run's) and a newer checkpoint 2 in the state the case
// says: an unreadable newest checkpoint fails the restore, naming the
// file, unless its completion was never notified; another run's is never
// restored. Planning reads only the metadata: a damaged state file is
// found by the subtask that reads it (taskRestore.read), and the master
// then applies the same rule (skipUnreadable).
func TestCheckpointer_planRestore(t *testing.T) {
	tests := []struct {
		name       string
		newest     string // "state", "metadata": damaged; "other run"; "": none
		unnotified bool   // the master wrote checkpoint 2 and never notified it
		wantID     int64  // the checkpoint restored; 0: an error
		wantFile   string // in the error: the damaged file, below chk-2
	}{
		{name: "readable", newest: "ok", wantID: 2},
		{name: "damaged state, notified", newest: "state", wantFile: "1-0.state"},
		{name: "damaged metadata, notified", newest: "metadata", wantFile: "_metadata"},
		{name: "damaged state, never notified", newest: "state", unnotified: true, wantID: 1},
		{name: "damaged metadata, never notified", newest: "metadata", unnotified: true, wantID: 1},
		{name: "another run's", newest: "other run", wantID: 1},
		{name: "only checkpoint 1", wantID: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, store := testCheckpointer(t, "run-a")
			writeCheckpoint(t, store, 1, "run-a")
			var newest string
			switch tt.newest {
			case "":
			case "other run":
				newest = writeCheckpoint(t, store, 2, "run-b")
			default:
				newest = writeCheckpoint(t, store, 2, "run-a")
			}
			switch tt.newest {
			case "state":
				if _, err := truncateState(newest); err != nil {
					t.Fatal(err)
				}
			case "metadata":
				truncateFile(t, filepath.Join(newest, "_metadata"))
			}
			if tt.unnotified {
				c.unnotified[newest] = true
			}
			plan, err := c.planRestore()
			if tt.newest == "state" {
				plan, err = readAsSubtasks(t, c, plan, err)
			}
			if tt.wantID != 0 {
				if err != nil || plan == nil || plan.id != tt.wantID {
					t.Fatalf("plan %+v, %v; want checkpoint %d", plan, err, tt.wantID)
				}
				return
			}
			if file := filepath.Join(newest, tt.wantFile); !errors.Is(err, ErrRestore) || !strings.Contains(fmtErr(err), file) {
				t.Fatalf("plan %+v, %v; want ErrRestore naming %s", plan, err, file)
			}
		})
	}
}

// readAsSubtasks reads, as the subtasks do, the parts of a plan of
// checkpoint 2 with a damaged state file: the read fails, and the
// master's rule then either fails the restore (the read's error) or
// skips the checkpoint and plans again.
func readAsSubtasks(t *testing.T, c *checkpointer, plan *restorePlan, err error) (*restorePlan, error) {
	t.Helper()
	if err != nil || plan == nil || plan.id != 2 {
		t.Fatalf("plan %+v, %v; want checkpoint 2 planned from its readable metadata", plan, err)
	}
	_, err = plan.taskOf(c.m.graph.Vertices[0], 0).read()
	if err == nil {
		t.Fatal("the subtask read its parts of a damaged state file without an error")
	}
	if !c.skipUnreadable(plan.path, err) {
		return nil, err
	}
	return c.planRestore()
}

// testCheckpointer returns the checkpointer of a master of countPipeline
// in run, over a DirStore.
func testCheckpointer(t *testing.T, run string) (*checkpointer, *persistence.DirStore) {
	t.Helper()
	p, _ := countPipeline(10, 3, 0)
	g, err := p.Build()
	if err != nil {
		t.Fatal(err)
	}
	store, err := persistence.OpenDirStore(t.TempDir(), 5)
	if err != nil {
		t.Fatal(err)
	}
	m := &master{job: &Job{name: g.Name, run: run}, graph: g, log: QuietLogger()}
	return &checkpointer{m: m, store: store, unnotified: map[string]bool{}}, store
}

// writeCheckpoint completes checkpoint id of run with one stored state
// (task 1-0's, empty, of the first vertex's operators) and returns its
// path.
func writeCheckpoint(t *testing.T, s *persistence.DirStore, id int64, run string) string {
	t.Helper()
	state, err := operators.SubtaskState{}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.WriteState(id, "1-0", state)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := countPipeline(10, 3, 0)
	g, _ := p.Build()
	v := g.Vertices[0] // its subtasks, at any parallelism, all read the one file (no summaries)
	path, err := s.CommitMetadata(&persistence.Metadata{ID: id, Job: g.Name, Run: run, MaxParallelism: g.MaxParallelism,
		Tasks: []persistence.TaskState{{Vertex: v.Name, Operators: v.Operators(), Subtask: 0, Parallelism: 1, Handle: h}}})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func truncateFile(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
}
