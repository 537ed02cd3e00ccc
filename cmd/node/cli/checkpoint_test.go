package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/examples/wordcount"
	"github.com/troupe-dev/troupe/persistence"
	"github.com/troupe-dev/troupe/testkit"
)

// bigText writes n lines of repeated words into a temp file.
func bigText(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "alpha beta w%d gamma alpha line %d\n", i%13, i%7)
	}
	path := filepath.Join(t.TempDir(), "input.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// committedOutput concatenates the committed part files of dir.
func committedOutput(t testing.TB, dir string) string {
	t.Helper()
	lines, _ := testkit.CommittedLines(t, dir)
	var all strings.Builder
	for _, l := range lines {
		all.WriteString(l + "\n")
	}
	return all.String()
}

// checkpoints lists the complete checkpoints under a state dir, oldest
// first within each run.
func checkpoints(t testing.TB, stateDir string) []string {
	t.Helper()
	metas, err := filepath.Glob(filepath.Join(stateDir, "*", "run-*", "chk-*", "_metadata"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range metas {
		dirs = append(dirs, filepath.Dir(m))
	}
	return dirs
}

// startMain runs the command on a goroutine with a signal channel of the
// test's; it returns the channel, the exit code's channel and stderr.
func startMain(t testing.TB, args ...string) (chan os.Signal, chan int, *syncBuffer) {
	t.Helper()
	return startMainIn(t, testRegistry(t, io.Discard), args...)
}

// startMainIn is startMain with the pipelines of reg.
func startMainIn(t testing.TB, reg *actors.Registry, args ...string) (chan os.Signal, chan int, *syncBuffer) {
	t.Helper()
	sigs, codes, stderr := make(chan os.Signal, 2), make(chan int, 1), newSyncBuffer()
	c := newCommand(reg, io.Discard, stderr, func() (<-chan os.Signal, func()) { return sigs, func() {} })
	go func() { codes <- c.main(args) }()
	return sigs, codes, stderr
}

func exitCode(t testing.TB, codes chan int) int {
	t.Helper()
	select {
	case code := <-codes:
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not end within 30s")
	}
	return -1
}

// stopWithSavepoint runs args until n checkpoints are complete, then
// signals: the command stops the job with a savepoint, prints its path
// and exits 0. It returns the path.
func stopWithSavepoint(t testing.TB, stateDir string, n int, args ...string) string {
	t.Helper()
	return stopWithSavepointIn(t, testRegistry(t, io.Discard), stateDir, n, args...)
}

// stopWithSavepointIn is stopWithSavepoint with the pipelines of reg.
var savepointLine = regexp.MustCompile(`(?m)^\S+: savepoint (\S+)$`)

func stopWithSavepointIn(t testing.TB, reg *actors.Registry, stateDir string, n int, args ...string) string {
	t.Helper()
	sigs, codes, stderr := startMainIn(t, reg, args...)
	testkit.Eventually(t, 20*time.Second, func() bool { return len(checkpoints(t, stateDir)) >= n }, "%d checkpoints", n)
	sigs <- os.Interrupt
	if code := exitCode(t, codes); code != ExitOK {
		t.Fatalf("exit %d after SIGINT, want 0; stderr:\n%s", code, stderr)
	}
	// The command's own report, "<prog>: savepoint <path>": a savepoint
	// that failed first (aborted by a restart) is logged and retried.
	m := savepointLine.FindStringSubmatch(stderr.String())
	path, ok := "", m != nil
	if ok {
		path = m[1]
	}
	if !ok || !strings.Contains(stderr.String(), "stopping the job with a savepoint") {
		t.Fatalf("stderr does not report the savepoint:\n%s", stderr)
	}
	if cp, err := persistence.OpenCheckpoint(path); err != nil || !cp.Meta.Savepoint || cp.Meta.Fingerprint == "" {
		t.Fatalf("savepoint %q: %+v, %v; want a savepoint with a fingerprint; stderr:\n%s", path, cp, err, stderr)
	}
	return path
}

// A stop with savepoint, then the same command again: it resumes from
// the savepoint (the run did not finish) and the output holds every
// running count exactly once; a third run starts afresh.
func TestMain_run_stateDir_resumesUnfinishedRun(t *testing.T) {
	input, out, state := bigText(t, 3000), t.TempDir(), t.TempDir()
	args := []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out, "-p", "rate=3000",
		"--parallelism", "2", "--checkpoint-interval", "20ms", "--state-dir", state}
	sp := stopWithSavepoint(t, state, 2, args...)
	code, _, errOut := runMain(t, testRegistry(t, io.Discard), args...)
	if code != ExitOK || !strings.Contains(errOut, "resuming from checkpoint "+sp) {
		t.Fatalf("rerun: exit %d, stderr %q; want 0 and a resume from %s", code, errOut, sp)
	}
	checkCounts(t, committedOutput(t, out), totals(t, input))

	before := committedOutput(t, out)
	code, _, errOut = runMain(t, testRegistry(t, io.Discard), args...)
	if code != ExitOK || strings.Contains(errOut, "resuming") {
		t.Fatalf("after a finished run: exit %d, stderr %q; want a fresh start", code, errOut)
	}
	after := committedOutput(t, out)
	if len(after) != 2*len(before) {
		t.Fatalf("the fresh run committed %d bytes, want %d (the whole input again)", len(after)-len(before), len(before))
	}
}

// --restore at another parallelism: the savepoint of a run at 2 resumes
// at 3 and at 1.
func TestMain_run_restore_rescales(t *testing.T) {
	for _, par := range []string{"1", "3"} {
		t.Run("to "+par, func(t *testing.T) {
			input, out, state := bigText(t, 3000), t.TempDir(), t.TempDir()
			args := []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out, "-p", "rate=3000",
				"--checkpoint-interval", "20ms", "--state-dir", state}
			sp := stopWithSavepoint(t, state, 1, append(args, "--parallelism", "2")...)
			code, _, errOut := runMain(t, testRegistry(t, io.Discard), append(args, "--parallelism", par, "--restore", sp)...)
			if code != ExitOK || strings.Contains(errOut, "resuming") {
				t.Fatalf("restore: exit %d, stderr %q", code, errOut)
			}
			checkCounts(t, committedOutput(t, out), totals(t, input))
		})
	}
}

// A damaged newest checkpoint in the state dir fails the resume: its
// completion may have been committed by the sinks, so falling back to an
// older checkpoint on its own would commit output twice (this replaces
// the earlier rule, under which it was moved aside and skipped). Stderr
// names the damaged file and the older checkpoints that --restore can
// start from; the same command with --restore and one of them runs.
func TestMain_run_stateDir_corruptCheckpointFails(t *testing.T) {
	for _, damage := range []string{"truncated metadata", "bit-flipped state"} {
		t.Run(damage, func(t *testing.T) {
			input, out, state := bigText(t, 3000), t.TempDir(), t.TempDir()
			args := []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out, "-p", "rate=3000",
				"--checkpoint-interval", "20ms", "--state-dir", state}
			sp := stopWithSavepoint(t, state, 2, args...)
			file := damageCheckpoint(t, sp, damage)
			code, _, errOut := runMain(t, testRegistry(t, io.Discard), args...)
			if code != ExitFailed || !strings.Contains(errOut, file) || !strings.Contains(errOut, "--restore PATH") ||
				strings.Contains(errOut, "resuming from checkpoint") {
				t.Fatalf("exit %d, stderr:\n%s\nwant 1, the damaged file named, --restore advised and no resume", code, errOut)
			}
			if n := strings.Count(errOut, file); n != 1 {
				t.Errorf("the failure is reported %d times, want once:\n%s", n, errOut)
			}
			older := listedCheckpoints(errOut, sp)
			if len(older) == 0 {
				t.Fatalf("stderr lists no older checkpoint to restore:\n%s", errOut)
			}
			code, _, errOut = runMain(t, testRegistry(t, io.Discard), append(args, "--restore", older[0])...)
			if code != ExitOK {
				t.Fatalf("--restore %s: exit %d, stderr:\n%s", older[0], code, errOut)
			}
		})
	}
}

// listedCheckpoints returns the indented lines of stderr that are
// checkpoint directories under the damaged one's run directory.
func listedCheckpoints(stderr, damaged string) []string {
	var paths []string
	for _, line := range strings.Split(stderr, "\n") {
		p := strings.TrimSpace(line)
		if strings.HasPrefix(line, "  ") && p != damaged && filepath.Dir(p) == filepath.Dir(damaged) {
			paths = append(paths, p)
		}
	}
	return paths
}

// damageCheckpoint truncates the metadata or flips a bit of a state file
// of the checkpoint at dir, and returns the file.
func damageCheckpoint(t testing.TB, dir, how string) string {
	t.Helper()
	file := filepath.Join(dir, "_metadata")
	if how != "truncated metadata" {
		states, _ := filepath.Glob(filepath.Join(dir, "*.state"))
		if len(states) == 0 {
			t.Fatalf("no state files in %s", dir)
		}
		file = states[0]
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if how == "truncated metadata" {
		b = b[:len(b)/2]
	} else {
		b[len(b)/2] ^= 0x10
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestMain_run_checkpointUsageErrors(t *testing.T) {
	other := t.TempDir()
	store, err := persistence.OpenDirStore(other, 3)
	if err != nil {
		t.Fatal(err)
	}
	otherCP, err := store.CommitMetadata(&persistence.Metadata{ID: 1, Job: "numbers", MaxParallelism: 128})
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	wc := []string{"run", "wordcount", "-p", "input=" + writeText(t)}
	tests := []struct {
		args []string
		want []string // in stderr
	}{
		{append(wc, "--state-backend", "bbolt"), []string{"needs --state-dir"}},
		{append(wc, "--state-backend", "rocks"), []string{`"rocks"`}},
		{append(wc, "--state-dir", other), []string{"--state-dir needs --checkpoint-interval"}},
		{append(wc, "--checkpoint-interval", "soon"), []string{"-checkpoint-interval"}},
		{append(wc, "--checkpoint-interval", "-1s"), []string{"-checkpoint-interval"}},
		{append(wc, "--restore", missing), []string{"--restore " + missing, "no such file"}},
		{append(wc, "--restore", t.TempDir()), []string{"_metadata"}},
		{append(wc, "--restore", otherCP), []string{"--restore " + otherCP, `pipeline "numbers", not "wordcount"`}},
	}
	for _, tt := range tests {
		code, out, errOut := runMain(t, testRegistry(t, io.Discard), tt.args...)
		if code != ExitUsage || out != "" {
			t.Errorf("%q: exit %d, stdout %q; want exit 2 and no output", tt.args, code, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%q: stderr %q lacks %q", tt.args, errOut, w)
			}
		}
	}
}

func TestFingerprint(t *testing.T) {
	a := fingerprint("wc", map[string]string{"input": "x", "rate": "1"})
	if b := fingerprint("wc", map[string]string{"rate": "1", "input": "x"}); a != b {
		t.Error("fingerprint depends on map order")
	}
	for _, other := range []string{fingerprint("wc", map[string]string{"input": "x"}), fingerprint("wd", map[string]string{"input": "x", "rate": "1"}),
		fingerprint("wc", map[string]string{"input": "x\x00rate=1"})} {
		if other == a {
			t.Error("different jobs share a fingerprint")
		}
	}
	if len(a) != 64 {
		t.Errorf("fingerprint %q", a)
	}
}

// With --state-backend bbolt the keyed counts live in bbolt files under
// the state directory; a stop with savepoint and a resume still commit
// every count exactly once, and no working file is left.
func TestMain_run_bboltBackend_resumesExactlyOnce(t *testing.T) {
	input, out, state := bigText(t, 3000), t.TempDir(), t.TempDir()
	args := []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out, "-p", "rate=3000",
		"--parallelism", "2", "--checkpoint-interval", "20ms", "--state-dir", state, "--state-backend", "bbolt"}
	sp := stopWithSavepoint(t, state, 2, args...)
	code, _, errOut := runMain(t, testRegistry(t, io.Discard), args...)
	if code != ExitOK || !strings.Contains(errOut, "resuming from checkpoint "+sp) {
		t.Fatalf("rerun: exit %d, stderr %q; want 0 and a resume from %s", code, errOut, sp)
	}
	checkCounts(t, committedOutput(t, out), totals(t, input))
	work, _ := filepath.Glob(filepath.Join(state, "bbolt-work", "*", "*.db"))
	if len(work) != 0 {
		t.Fatalf("bbolt working files left behind: %v", work)
	}
}

// rateRegistry is testRegistry with wordcount's rate defaulting to 3000,
// so that a command may leave it out or spell it out.
func rateRegistry(t testing.TB) *actors.Registry {
	t.Helper()
	spec := wordcount.SpecTo(io.Discard)
	for i := range spec.Params {
		if spec.Params[i].Name == "rate" {
			spec.Params[i].Default = "3000"
		}
	}
	reg := actors.NewRegistry()
	reg.MustRegister(spec)
	return reg
}

// A run left unfinished resumes when the command spells out a parameter
// at its default, in any form the pipeline reads as the same value
// (issue 18, item 2): before, the parameters were hashed as typed, so
// the rerun started afresh in a new job directory and the output held
// both runs' counts.
func TestMain_run_stateDir_resumesWithDefaultSpelledOut(t *testing.T) {
	for _, spelled := range []string{"rate=3000", "rate=3e3", "rate=3000.0"} {
		t.Run(spelled, func(t *testing.T) {
			input, out, state := bigText(t, 3000), t.TempDir(), t.TempDir()
			args := []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out,
				"--parallelism", "2", "--checkpoint-interval", "20ms", "--state-dir", state}
			sp := stopWithSavepointIn(t, rateRegistry(t), state, 2, args...)
			code, _, errOut := runMain(t, rateRegistry(t), append(args, "-p", spelled)...)
			if code != ExitOK || !strings.Contains(errOut, "resuming from checkpoint "+sp) {
				t.Fatalf("rerun with %s: exit %d, stderr %q; want 0 and a resume from %s", spelled, code, errOut, sp)
			}
			checkCounts(t, committedOutput(t, out), totals(t, input))
		})
	}
}

// A run that began at a --restore path and did not finish resumes when
// the command names the same savepoint in another way — with a trailing
// slash, relative, through a symbolic link: the path is compared in
// canonical form. Before, it was compared as typed, so the rerun started
// a new run from the savepoint and the output held what the unfinished
// run had committed after it twice.
func TestMain_run_stateDir_resumesWithRestoreSpelledDifferently(t *testing.T) {
	for _, tt := range []struct {
		name    string
		spelled func(t *testing.T, sp string) string
	}{
		{"trailing slash", func(_ *testing.T, sp string) string { return sp + "/" }},
		{"relative", func(t *testing.T, sp string) string {
			t.Chdir(filepath.Dir(filepath.Dir(sp)))
			return filepath.Join(".", filepath.Base(filepath.Dir(sp)), filepath.Base(sp))
		}},
		{"symlink", func(t *testing.T, sp string) string {
			link := filepath.Join(t.TempDir(), "savepoint")
			if err := os.Symlink(sp, link); err != nil {
				t.Fatal(err)
			}
			return link
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// At 1000 records a second the input lasts 3 s: the run from
			// the first savepoint must still be running when it is stopped
			// (at 3000 a second it finished first under a loaded -race run).
			input, out, state := bigText(t, 3000), t.TempDir(), t.TempDir()
			args := []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out, "-p", "rate=1000",
				"--parallelism", "2", "--checkpoint-interval", "20ms", "--state-dir", state}
			sp1 := stopWithSavepoint(t, state, 2, args...)
			// A run that begins at the savepoint, stopped again with a
			// savepoint once it has committed more: it did not finish.
			n := len(checkpoints(t, state))
			sp2 := stopWithSavepoint(t, state, n+2, append(args, "--restore", sp1)...)
			if strings.Count(committedOutput(t, out), "\n") == 0 {
				t.Fatal("nothing committed: the test cannot see a duplicate")
			}
			spelled := tt.spelled(t, sp1)
			code, _, errOut := runMain(t, testRegistry(t, io.Discard), append(args, "--restore", spelled)...)
			if code != ExitOK || !strings.Contains(errOut, "resuming from checkpoint "+sp2) {
				t.Errorf("rerun with --restore %s: exit %d, stderr %q; want 0 and a resume from %s", spelled, code, errOut, sp2)
			}
			checkCounts(t, committedOutput(t, out), totals(t, input))
		})
	}
}

// Paths name the same checkpoint, or lie within a run directory, however
// they are spelled.
func TestCanonicalPath_spellings(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run-1")
	sp := filepath.Join(run, "chk-4")
	if err := os.MkdirAll(sp, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "state")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, other := range []string{sp + "/", sp + "/.", "run-1/chk-4", "./run-1/../run-1/chk-4", filepath.Join(link, "run-1", "chk-4")} {
		if !sameOrigin(sp, other) {
			t.Errorf("sameOrigin(%s, %s) = false", sp, other)
		}
		if !isWithin(other, run) || !isWithin(sp, filepath.Join(link, "run-1")) {
			t.Errorf("isWithin(%s, %s) or isWithin(%s, %s via the link) = false", other, run, sp, run)
		}
	}
	for _, tt := range [][2]string{{sp, ""}, {sp, filepath.Join(run, "chk-5")}, {"", ""}} {
		if got, want := sameOrigin(tt[0], tt[1]), tt[0] == tt[1]; got != want {
			t.Errorf("sameOrigin(%q, %q) = %v, want %v", tt[0], tt[1], got, want)
		}
	}
}

// A state dir with an unfinished run of the pipeline under other
// parameters stops a fresh start with exit 2, naming the run and the ways
// on; --fresh starts over on purpose, says that the output directory
// already holds committed output, and the unfinished run no longer stops
// the next command.
func TestMain_run_stateDir_unfinishedRunOfOtherParams(t *testing.T) {
	input, out, state := bigText(t, 3000), t.TempDir(), t.TempDir()
	args := []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out,
		"--parallelism", "2", "--checkpoint-interval", "20ms", "--state-dir", state}
	sp := stopWithSavepointIn(t, rateRegistry(t), state, 2, args...)
	other := append(slices.Clone(args), "-p", "rate=2000")
	code, stdout, errOut := runMain(t, rateRegistry(t), other...)
	run := filepath.Dir(sp)
	for _, want := range []string{run, "did not finish", "rate=3000", "--restore " + sp, "--fresh"} {
		if code != ExitUsage || stdout != "" || !strings.Contains(errOut, want) {
			t.Fatalf("other parameters: exit %d, stderr:\n%s\nwant exit 2 and %q", code, errOut, want)
		}
	}
	if lines, _ := testkit.CommittedLines(t, out); len(lines) == 0 {
		t.Fatal("the savepoint committed nothing: the test cannot see a second run's output")
	}
	code, _, errOut = runMain(t, rateRegistry(t), append(other, "--fresh")...)
	if code != ExitOK || !strings.Contains(errOut, "already holds committed output") || !strings.Contains(errOut, out) {
		t.Fatalf("--fresh: exit %d, stderr:\n%s\nwant 0 and a note that %s holds committed output", code, errOut, out)
	}
	code, _, errOut = runMain(t, rateRegistry(t), other...)
	if code != ExitOK || strings.Contains(errOut, "did not finish") {
		t.Fatalf("after --fresh: exit %d, stderr:\n%s\nwant 0 without the unfinished run", code, errOut)
	}
}

// A fresh run into an output directory that holds committed output says
// so on stderr, with or without a state dir.
func TestMain_run_outputHoldsCommittedOutput(t *testing.T) {
	input, out := writeText(t), t.TempDir()
	args := []string{"run", "wordcount", "-p", "input=" + input, "-p", "output=" + out}
	if code, _, errOut := runMain(t, testRegistry(t, io.Discard), args...); code != ExitOK || strings.Contains(errOut, "committed output") {
		t.Fatalf("first run: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut := runMain(t, testRegistry(t, io.Discard), args...)
	if code != ExitOK || !strings.Contains(errOut, out) || !strings.Contains(errOut, "already holds committed output") {
		t.Fatalf("second run: exit %d, stderr %q; want 0 and a note naming %s", code, errOut, out)
	}
}
