package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
// directory, DIR/<name>-<hash>, holding paramsFile, the parameters in
// canonical form (JSON); each run (a fresh start, or a start from a
// --restore path, with the resumes that follow crashes) has a run
// directory in it, run-<n>, which is the checkpoint store
// (persistence.DirStore) of the run. A run directory holds runIDFile, the
// engine's id of the run (actors.Job.RunID), which the resumes continue;
// finishedFile once its job finished; supersededFile once a later run
// started over on purpose (--fresh, --restore) instead of resuming it;
// and originFile if the run began at a --restore path.
const (
	runPrefix      = "run-"
	paramsFile     = "_params"
	runIDFile      = "_run"
	finishedFile   = "_finished"
	supersededFile = "_superseded"
	originFile     = "_origin"
	retain         = 3 // complete checkpoints kept per run (savepoints are all kept)
	hashLen        = 12
)

// fingerprint identifies a pipeline with its parameters, in canonical
// form (actors.Registry.BuildCanonical): it names the job directory and
// is written into every checkpoint's metadata.
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

func openJobDir(stateDir, pipeline, fp string, params map[string]string) (*jobDir, error) {
	root := filepath.Join(stateDir, safeName(pipeline)+"-"+fp[:hashLen])
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	b, err := json.Marshal(params)
	if err == nil {
		err = os.WriteFile(filepath.Join(root, paramsFile), b, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	return &jobDir{root: root, fp: fp}, nil
}

// params returns the job directory's parameters; nil if they are not
// known (a directory made before they were written).
func (d *jobDir) params() map[string]string {
	b, err := os.ReadFile(filepath.Join(d.root, paramsFile))
	if err != nil {
		return nil
	}
	var ps map[string]string
	if json.Unmarshal(b, &ps) != nil {
		return nil
	}
	return ps
}

// jobDirs returns the job directories of pipeline in stateDir, whatever
// their parameters.
func jobDirs(stateDir, pipeline string) ([]*jobDir, error) {
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	var dirs []*jobDir
	for _, e := range entries {
		hash, ok := strings.CutPrefix(e.Name(), safeName(pipeline)+"-")
		if ok && e.IsDir() && len(hash) == hashLen && strings.Trim(hash, "0123456789abcdef") == "" {
			dirs = append(dirs, &jobDir{root: filepath.Join(stateDir, e.Name())})
		}
	}
	return dirs, nil
}

// unfinishedRun is a run of a pipeline that did not finish, with the
// newest complete checkpoint it could resume from.
type unfinishedRun struct {
	job        *jobDir
	run        *runDir
	checkpoint string
}

// unfinishedRuns returns the newest run of each job directory of
// pipeline that did not finish, was not superseded and has a complete
// checkpoint: its sinks may have committed output. A run without one
// committed nothing, and is no reason to stop a fresh start.
func unfinishedRuns(stateDir, pipeline string) ([]unfinishedRun, error) {
	dirs, err := jobDirs(stateDir, pipeline)
	if err != nil {
		return nil, err
	}
	var runs []unfinishedRun
	for _, jd := range dirs {
		r, ok, err := jd.latest()
		if err != nil {
			return nil, err
		}
		if !ok || !r.unfinished() {
			continue
		}
		if cps, err := r.checkpoints(); err == nil && len(cps) > 0 {
			runs = append(runs, unfinishedRun{job: jd, run: r, checkpoint: cps[0]})
		}
	}
	return runs, nil
}

// unfinishedError refuses a fresh start while runs of the pipeline did
// not finish (see command.pickRun).
type unfinishedError struct {
	runs   []unfinishedRun
	params map[string]string // this command's, canonical
}

func (e *unfinishedError) Error() string {
	var b strings.Builder
	for _, u := range e.runs {
		fmt.Fprintf(&b, "run %s did not finish", u.run.path)
		if o := u.run.origin(); o != "" {
			fmt.Fprintf(&b, "; it began at --restore %s", o)
		}
		if diff := paramDiff(u.job.params(), e.params); diff != "" {
			fmt.Fprintf(&b, "; it ran with other parameters: %s", diff)
		}
		fmt.Fprintf(&b, "\n  its latest checkpoint is %s\n", u.checkpoint)
	}
	b.WriteString("Its sinks may have committed output up to that checkpoint, which a fresh run would write again. Either\n")
	b.WriteString("  resume it: run it again as it was run,\n")
	for _, u := range e.runs {
		fmt.Fprintf(&b, "  or go on from its state with these parameters: add --restore %s\n", u.checkpoint)
	}
	b.WriteString("  or start over on purpose: add --fresh")
	return b.String()
}

// paramDiff shows the parameters of theirs that differ from ours, as
// key=value (theirs; ours in parentheses); "" when theirs are unknown.
func paramDiff(theirs, ours map[string]string) string {
	if theirs == nil {
		return ""
	}
	var diffs []string
	keys := slices.Sorted(maps.Keys(theirs))
	for k := range ours {
		if _, ok := theirs[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if theirs[k] != ours[k] {
			diffs = append(diffs, fmt.Sprintf("%s=%s (this command: %s=%s)", k, theirs[k], k, ours[k]))
		}
	}
	return strings.Join(diffs, ", ")
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
		origin = canonicalPath(origin) // the same checkpoint however it is named next time
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

// unfinished reports whether the run may still be resumed: it did not
// finish, and no later run started over in its place.
func (r *runDir) unfinished() bool {
	_, err := os.Stat(filepath.Join(r.path, supersededFile))
	return !r.finished() && errors.Is(err, fs.ErrNotExist)
}

// supersede records that a later run started over in the run's place.
func (r *runDir) supersede() error {
	if err := os.WriteFile(filepath.Join(r.path, supersededFile), nil, 0o644); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	return nil
}

// markFinished records that the run's job finished: the next run starts
// afresh.
func (r *runDir) markFinished() error {
	return os.WriteFile(filepath.Join(r.path, finishedFile), nil, 0o644)
}

// origin returns the --restore path the lineage began at ("" for none),
// as written (canonical since runs record it so; compare with
// sameOrigin).
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

// isWithin reports whether path is dir or inside it, however either is
// spelled (see canonicalPath).
func isWithin(path, dir string) bool {
	rel, err := filepath.Rel(canonicalPath(dir), canonicalPath(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// canonicalPath returns path absolute, clean and with its symbolic links
// resolved, so that a file named in two ways (relative or absolute, with
// a trailing slash, through a link) compares equal: the --restore path
// is part of a run's identity. A path that cannot be resolved (it does
// not exist) is returned absolute and clean.
func canonicalPath(path string) string {
	if path == "" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// sameOrigin reports whether two --restore paths ("" for none) name the
// same checkpoint.
func sameOrigin(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	return canonicalPath(a) == canonicalPath(b)
}

// store opens the run's checkpoint store.
func (r *runDir) store() (*persistence.DirStore, error) {
	return persistence.OpenDirStore(r.path, retain)
}
