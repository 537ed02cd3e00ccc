package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/persistence"
)

// FileStore is a Store in a directory that every node reaches (file://DIR:
// one machine, or a shared mount): the checkpoints of run R of job J in
// DIR/J/R (a persistence.DirStore keeping the newest Retain complete
// checkpoints and every savepoint), the job records in DIR/jobs (a
// persistence.DirJobStore, compare-and-set by flock). It is safe for
// concurrent use, by every node at once.
type FileStore struct {
	dir    string
	retain int
	jobs   *persistence.DirJobStore
}

var _ Store = (*FileStore)(nil)

// DefaultRetain is how many complete checkpoints of a run a store keeps
// (every savepoint is kept besides), as Flink's
// state.checkpoints.num-retained, raised from its 1 so that a damaged
// newest checkpoint leaves older ones to restore.
const DefaultRetain = 3

// OpenFileStore opens (creating it if needed) a file store in dir,
// keeping retain complete checkpoints per run (0: DefaultRetain).
func OpenFileStore(dir string, retain int) (*FileStore, error) {
	if retain <= 0 {
		retain = DefaultRetain
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: store %s: %w", dir, err)
	}
	jobs, err := persistence.OpenDirJobStore(filepath.Join(dir, "jobs"))
	if err != nil {
		return nil, fmt.Errorf("cluster: store %s: %w", dir, err)
	}
	return &FileStore{dir: dir, retain: retain, jobs: jobs}, nil
}

// Dir returns the store's directory.
func (s *FileStore) Dir() string { return s.dir }

// Jobs returns the job store in DIR/jobs.
func (s *FileStore) Jobs() JobStore { return s.jobs }

// Checkpoints opens the checkpoint directory of a run, DIR/<job>/<run>.
func (s *FileStore) Checkpoints(job, run string) (actors.CheckpointStore, error) {
	if !pathElements(job) || !pathElements(run) || strings.Contains(run, "/") {
		return nil, fmt.Errorf("%w: store %s: job %q, run %q: cannot name a directory in it", ErrConfig, s.dir, job, run)
	}
	st, err := persistence.OpenDirStore(filepath.Join(s.dir, job, run), s.retain)
	if err != nil {
		return nil, fmt.Errorf("cluster: store %s: %w", s.dir, err)
	}
	return st, nil
}

// OpenCheckpoint opens the checkpoint directory at path (any directory,
// such as a savepoint moved elsewhere); the error wraps
// persistence.ErrNoCheckpoint and os.ErrNotExist when it has no
// metadata.
func (s *FileStore) OpenCheckpoint(path string) (*persistence.Checkpoint, error) {
	return persistence.OpenCheckpoint(path)
}

// Close does nothing: a file store holds no connection.
func (s *FileStore) Close() error { return nil }

// pathElements reports whether name is one or more '/'-separated
// elements that stay inside the directory they are joined to: none
// empty, "." or "..", no '\\'. (A pipeline's name may hold '/': its runs
// then nest.)
func pathElements(name string) bool {
	if name == "" || strings.Contains(name, `\`) {
		return false
	}
	for e := range strings.SplitSeq(name, "/") {
		if e == "" || e == "." || e == ".." {
			return false
		}
	}
	return true
}
