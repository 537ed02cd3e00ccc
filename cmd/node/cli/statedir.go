package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/persistence"
)

// State directory layout. A pipeline with its parameters has a job
// directory, DIR/<name>-<hash>; each run (a fresh start, or a start from
// a --restore path, with the resumes that follow crashes) has a run
// directory in it, run-<n>, which is the checkpoint store
// (persistence.DirStore) of the run. A run directory holds runIDFile, the
// engine's id of the run (actors.Job.RunID), which the resumes continue;
// finishedFile once its job finished; and originFile if the run began at
// a --restore path.
const (
	runPrefix    = "run-"
	runIDFile    = "_run"
	finishedFile = "_finished"
	originFile   = "_origin"
	retain       = 3 // complete checkpoints kept per run (savepoints are all kept)
)

// fingerprint identifies a pipeline with its parameters: it names the job
// directory and is written into every checkpoint's metadata.
func fingerprint(pipeline string, params map[string]string) string {
	h := sha256.New()
	// Length-prefixed, so that no two different jobs write the same bytes.
	fmt.Fprintf(h, "%d:%s", len(pipeline), pipeline)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(params[k]), params[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// jobDir is the state directory of one pipeline and parameters.
type jobDir struct {
	root string
	fp   string
}

func openJobDir(stateDir, pipeline, fp string) (*jobDir, error) {
	root := filepath.Join(stateDir, safeName(pipeline)+"-"+fp[:12])
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	return &jobDir{root: root, fp: fp}, nil
}

// safeName keeps a pipeline name usable as a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// runs returns the numbers of the run directories, ascending.
func (d *jobDir) runs() ([]int, error) {
	entries, err := os.ReadDir(d.root)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	var ns []int
	for _, e := range entries {
		if s, ok := strings.CutPrefix(e.Name(), runPrefix); ok && e.IsDir() {
			if n, err := strconv.Atoi(s); err == nil {
				ns = append(ns, n)
			}
		}
	}
	slices.Sort(ns)
	return ns, nil
}

func (d *jobDir) run(n int) *runDir {
	return &runDir{path: filepath.Join(d.root, fmt.Sprintf("%s%d", runPrefix, n))}
}

// latest returns the newest run directory, if there is one.
func (d *jobDir) latest() (*runDir, bool, error) {
	ns, err := d.runs()
	if err != nil || len(ns) == 0 {
		return nil, false, err
	}
	return d.run(ns[len(ns)-1]), true, nil
}

// newRun starts a run from origin (a --restore path, or none), with a
// fresh run id, and removes the older runs that hold neither a savepoint
// nor origin.
func (d *jobDir) newRun(origin string) (*runDir, error) {
	ns, err := d.runs()
	if err != nil {
		return nil, err
	}
	next := 1
	if len(ns) > 0 {
		next = ns[len(ns)-1] + 1
	}
	r := d.run(next)
	if err := os.MkdirAll(r.path, 0o755); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if err := r.writeID(actors.NewRunID()); err != nil {
		return nil, err
	}
	if origin != "" {
		if err := os.WriteFile(filepath.Join(r.path, originFile), []byte(origin), 0o644); err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
	}
	for _, n := range ns {
		if old := d.run(n); !old.keep(origin) {
			_ = os.RemoveAll(old.path) // best effort: old checkpoints only take room
		}
	}
	return r, nil
}

// runDir is one run's checkpoint store.
type runDir struct {
	path string
}

// id returns the run's id. A run directory made before runs had ids gets
// one now: its checkpoints carry no run, so the engine does not take them
// for the run's own, and a resume names the checkpoint it starts from
// (--restore) instead.
func (r *runDir) id() (string, error) {
	b, err := os.ReadFile(filepath.Join(r.path, runIDFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("state dir: %w", err)
	}
	if id := strings.TrimSpace(string(b)); id != "" {
		return id, nil
	}
	id := actors.NewRunID() // none yet, or a write cut short before the run began
	return id, r.writeID(id)
}

func (r *runDir) writeID(id string) error {
	if err := os.WriteFile(filepath.Join(r.path, runIDFile), []byte(id+"\n"), 0o644); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return nil
}

func (r *runDir) finished() bool {
	_, err := os.Stat(filepath.Join(r.path, finishedFile))
	return err == nil
}

// markFinished records that the run's job finished: the next run starts
// afresh.
func (r *runDir) markFinished() error {
	return os.WriteFile(filepath.Join(r.path, finishedFile), nil, 0o644)
}

// origin returns the --restore path the lineage began at ("" for none).
func (r *runDir) origin() string {
	b, err := os.ReadFile(filepath.Join(r.path, originFile))
	if err != nil {
		return ""
	}
	return string(b)
}

// keep reports whether an old run must stay: it holds a savepoint, or
// the checkpoint a new run starts from.
func (r *runDir) keep(origin string) bool {
	if origin != "" && isWithin(origin, r.path) {
		return true
	}
	entries, err := os.ReadDir(r.path)
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist)
	}
	for _, e := range entries {
		if cp, err := persistence.OpenCheckpoint(filepath.Join(r.path, e.Name())); err == nil && cp.Meta.Savepoint {
			return true
		}
	}
	return false
}

// isWithin reports whether path is dir or inside it.
func isWithin(path, dir string) bool {
	ap, err1 := filepath.Abs(path)
	ad, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(ad, ap)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// store opens the run's checkpoint store.
func (r *runDir) store() (*persistence.DirStore, error) {
	return persistence.OpenDirStore(r.path, retain)
}
