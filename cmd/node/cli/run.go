package cli

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
)

const runUsage = `Usage: node run PIPELINE [--param key=value]... [--parallelism N]
                [--checkpoint-interval D --state-dir DIR] [--restore PATH]
                [--unaligned [--alignment-timeout D]]
                [--fresh] [--no-savepoint] [--state-backend heap|bbolt] [--restart S]
                [--memory SIZE] [--gc-percent N|off] [--http HOST:PORT] [--quiet]
                [--log-format text|json] [--log-level L]

Runs a registered pipeline on an in-process engine: until its input ends,
or until SIGINT or SIGTERM stops it; a second signal cancels it. Flags may
come before or after PIPELINE. 'node pipelines' lists the pipelines and
their parameters.

Without checkpoints a signal stops the job gracefully: sources end and
everything in flight reaches the sinks. With checkpoints and a state
directory a signal stops it with a savepoint, whose path is printed on
standard error, to resume from with --restore.

With --state-dir, checkpoints go to DIR/<pipeline>-<hash of the pipeline
and its parameters>; parameters are compared as the pipeline reads them,
defaults filled in (rate=3e3 is rate=3000, and so is leaving out a rate
whose default is 3000), and a --restore path as the file it names
(./sp/, an absolute path or a link to sp are sp). If the last run of the
same command there did not finish (it crashed, or was killed), run
resumes from its latest checkpoint and says so on standard error; after
a run that finished it starts afresh. If that checkpoint cannot be read, run fails and lists the
older checkpoints that --restore PATH can start from: its output may
already be committed, so run never falls back to an older one by itself.
If a run of the pipeline under other parameters (or from another
--restore) did not finish, run does not start: it names that run and
exits 2; resume it, --restore its checkpoint, or start over with --fresh.
A run that starts afresh into an output directory holding committed
output says so on standard error.

A failed job restarts by its restart strategy (--restart), from its latest
checkpoint if it has one, else from the beginning of its input; each
restart is reported on standard error with its cause and the checkpoint it
restores. When the strategy gives up, the job fails with the cause of its
last failure. Each failure is reported once (the engine's own log of it is
at debug level).

While the job runs, its progress goes to standard error: records read and
written and their rates, the watermark at the sinks, the last checkpoint
and the backpressured operators. On a terminal it is one line updated in
place; otherwise a line every 10 seconds. --quiet turns it off.

Flags:
  -p, --param key=value    set a pipeline parameter (repeat for more)
  --parallelism N          the default parallelism of the pipeline's
                           operators (N >= 1; default: the pipeline's own)
  --checkpoint-interval D  take a checkpoint every D (such as 200ms or 10s);
                           sinks then commit exactly once
  --state-dir DIR          keep checkpoints and savepoints under DIR, and
                           resume a run that did not finish
                           (needs --checkpoint-interval)
  --restore PATH           start from a savepoint or checkpoint directory,
                           at any --parallelism (an unaligned checkpoint
                           that holds in-flight data: at its own only)
  --unaligned              unaligned checkpoints: barriers overtake the
                           records in flight, which are stored with the
                           checkpoint; under backpressure a checkpoint
                           does not wait for the backlog (savepoints stay
                           aligned; needs --checkpoint-interval)
  --alignment-timeout D    with --unaligned, start each checkpoint aligned
                           and switch to unaligned where its barriers wait
                           longer than D after the trigger (default 0:
                           unaligned from the start)
  --no-savepoint           on a signal, stop gracefully without a savepoint
  --fresh                  start a new run even if the state dir holds one
                           that did not finish (needs --state-dir)
  --state-backend NAME     where keyed state lives: heap (the default) or
                           bbolt (files under --state-dir, for state larger
                           than memory)
  --restart S              the restart strategy; S is one of
                             none                  fail at the first failure
                             fixed:ATTEMPTS:DELAY  restart up to ATTEMPTS
                                                   times, DELAY apart
                             exp:INITIAL:MAX:MULT  restart always, waiting
                                                   INITIAL, then MULT times
                                                   longer up to MAX (±10 %)
                             rate:FAILURES:INTERVAL:DELAY
                                                   restart after DELAY
                                                   unless more than FAILURES
                                                   failures within INTERVAL
                           (default: exp:1s:1m:1.5 with
                           --checkpoint-interval, else none)
  --memory SIZE            the memory budget, such as 512MiB or 2GiB (at
                           least 16MiB): the Go runtime's soft memory limit,
                           from which the job's credits, batch bytes, bbolt
                           cache and async ceiling are derived (see
                           docs/operations.md); a job that cannot fit it is
                           a usage error (default: no budget)
  --gc-percent N|off       the garbage collector's target, as GOGC (default:
                           800 with --memory unless GOGC is set, else the
                           runtime's, paced with an 8 MiB heap reserve
                           unless a valid GOGC or a GOMEMLIMIT limit is
                           set; any N turns the reserve off); off collects
                           only near --memory
  --http HOST:PORT         serve the job's metrics at /metrics (Prometheus
                           text format; see docs/metrics.md)
  --quiet                  no progress report
  --log-format FORMAT      text (the default) or json, on standard error
  --log-level LEVEL        debug, info, warn (the default) or error
  -h, --help               show this help

Exit codes: 0 the job finished (or stopped with a savepoint), 1 it failed or
was cancelled, 2 usage error (including a --restore path that is missing,
damaged or of another pipeline, and a job that cannot fit --memory).
`

// runArgs is a parsed run command line.
type runArgs struct {
	pipeline string
	jobFlags
	stateDir    string
	noSavepoint bool
	fresh       bool // start a new run even if one did not finish
	restart     restartFlag
	memory      int64  // the memory budget in bytes; 0 for none
	gcPercent   int    // --gc-percent; 0: actors.Config's default
	http        string // serve /metrics there; "" for none
	quiet       bool   // no progress report
	logFormat   string
	logLevel    slog.Level
}

// parseRun parses run's arguments; flags may come before or after
// PIPELINE. It returns flag.ErrHelp for -h or --help.
func parseRun(args []string) (runArgs, error) {
	ra := runArgs{jobFlags: jobFlags{params: make(map[string]string)}, logFormat: "text", logLevel: slog.LevelWarn}
	fs := newFlagSet("run")
	ra.jobFlags.add(fs)
	fs.StringVar(&ra.stateDir, "state-dir", "", "")
	fs.BoolVar(&ra.noSavepoint, "no-savepoint", false, "")
	fs.BoolVar(&ra.fresh, "fresh", false, "")
	fs.Var(&ra.restart, "restart", "")
	memoryFlag(fs, &ra.memory)
	gcPercentFlag(fs, &ra.gcPercent)
	fs.StringVar(&ra.http, "http", "", "")
	fs.BoolVar(&ra.quiet, "quiet", false, "")
	var logLevel *string
	fs.StringVar(&ra.logFormat, "log-format", ra.logFormat, "")
	fs.Func("log-level", "", func(v string) error { logLevel = &v; return nil })
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return ra, err
	}
	if err := parseLogFlags(ra.logFormat, logLevel, &ra.logLevel); err != nil {
		return ra, err
	}
	if err := ra.check(); err != nil {
		return ra, err
	}
	switch len(positional) {
	case 0:
		return ra, fmt.Errorf("missing PIPELINE")
	case 1:
		ra.pipeline = positional[0]
		return ra, nil
	default:
		return ra, fmt.Errorf("unexpected argument %q after PIPELINE %q", positional[1], positional[0])
	}
}

// check rejects flags that make no sense together.
func (ra *runArgs) check() error {
	if err := ra.jobFlags.check(); err != nil {
		return err
	}
	if err := checkGCPercent(ra.gcPercent, ra.memory); err != nil {
		return err
	}
	if ra.stateDir != "" && ra.interval == 0 {
		return fmt.Errorf("--state-dir needs --checkpoint-interval")
	}
	if ra.fresh && ra.stateDir == "" {
		return fmt.Errorf("--fresh needs --state-dir (without one every run starts afresh)")
	}
	if ra.backend == "bbolt" && ra.stateDir == "" {
		return fmt.Errorf("--state-backend bbolt needs --state-dir (its files live there)")
	}
	return nil
}

// paramFlag collects key=value pairs; a key given twice is an error rather
// than a silent override.
type paramFlag map[string]string

func (p paramFlag) String() string { return "" }

func (p paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	switch {
	case !ok:
		return fmt.Errorf("want key=value")
	case k == "":
		return fmt.Errorf("empty key")
	}
	if _, dup := p[k]; dup {
		return fmt.Errorf("parameter %q given twice", k)
	}
	p[k] = v
	return nil
}

func (c *command) run(args []string) int {
	ra, err := parseRun(args)
	if errors.Is(err, flag.ErrHelp) {
		c.printUsage(runUsage)
		return ExitOK
	}
	if err != nil {
		return c.usageError("run", err)
	}
	p, params, err := c.reg.BuildCanonical(ra.pipeline, ra.params, ra.parallelism)
	if err != nil {
		return c.buildError(err)
	}
	g, err := p.Build()
	if err != nil {
		return c.buildError(err)
	}
	ck, code := c.prepareCheckpoints(ra, g.Name, params)
	if code != ExitOK {
		return code
	}
	if ck.restore == "" {
		c.noteCommittedOutput(g)
	}
	return c.execute(g, ck, ra)
}

// noteCommittedOutput tells the user that a job starting afresh writes
// into a directory that holds committed output already: the new output
// comes on top of the old, which a resumed run would not have repeated.
func (c *command) noteCommittedOutput(g *operators.JobGraph) {
	for _, dir := range g.OutputDirs() {
		if parts, err := operators.CommittedParts(dir); err == nil && len(parts) > 0 {
			fmt.Fprintf(c.stderr, "%s run: note: output directory %s already holds committed output (%d part files) of an earlier run; this run adds its own\n",
				c.prog, dir, len(parts))
		}
	}
}

// buildError sorts a build error: the user's mistakes are usage errors
// (pointed at 'node pipelines', which shows names and parameters); anything
// else is the pipeline's own fault, a failure.
func (c *command) buildError(err error) int {
	for _, usage := range []error{actors.ErrUnknownPipeline, actors.ErrBadParam, operators.ErrParallelism} {
		if errors.Is(err, usage) {
			fmt.Fprintf(c.stderr, "%s run: %v\nRun '%s pipelines' for the pipelines and their parameters, '%s run --help' for usage.\n",
				c.prog, err, c.prog, c.prog)
			return ExitUsage
		}
	}
	fmt.Fprintf(c.stderr, "%s run: %v\n", c.prog, err)
	return ExitFailed
}

// execute runs a job on an engine of its own and waits for it, handling
// stop signals meanwhile, reporting its progress and serving its metrics
// if asked.
func (c *command) execute(g *operators.JobGraph, ck *checkpointing, ra runArgs) int {
	cfg := actors.DefaultConfig()
	cfg.Logger = newLogger(c.stderr, ra.logFormat, ra.logLevel)
	cfg.Restart, cfg.OnRestart = ra.restart.strategy, c.printRestart
	cfg.OwnerReportsFailures = true // printRestart and the lines below report them
	cfg.Memory, cfg.GCPercent = ra.memory, ra.gcPercent
	ck.configure(&cfg)
	// Before anything starts: a budget the job cannot fit, or unaligned
	// checkpoints of records its codec would not keep, is the command
	// line's mistake.
	if err := cfg.CheckJob(g); err != nil {
		switch {
		case errors.Is(err, operators.ErrLossyJSON):
			return c.usageError("run", fmt.Errorf("--unaligned: %w", err))
		case ra.memory > 0:
			return c.usageError("run", fmt.Errorf("--memory %s: %w", formatMiB(ra.memory), err))
		}
	}
	engine, err := actors.NewEngine(cfg)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s run: %v\n", c.prog, err)
		return ExitFailed
	}
	defer engine.Close()
	srv, err := c.serveRunMetrics(ra.http, engine, cfg.Logger)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s run: --http %s: %v\n", c.prog, ra.http, err)
		return ExitFailed
	}
	defer srv.close()
	// Before Submit, so that a signal arriving as the job starts is seen.
	signals, stop := c.notify()
	defer stop()
	job, err := engine.Submit(g, ck.submitOptions()...)
	if err != nil {
		fmt.Fprintf(c.stderr, "%s run: %v\n", c.prog, err)
		return ExitFailed
	}
	srv.setJob(job)
	prog := c.startProgress(job, g.Name, ra.quiet)
	savepoint, err := c.await(job, signals, ck.savepoint)
	prog.stop()
	return c.runEnded(g, ck, savepoint, err)
}

// runEnded says how the job ended and returns the exit code.
func (c *command) runEnded(g *operators.JobGraph, ck *checkpointing, savepoint string, err error) int {
	switch {
	case savepoint != "":
		fmt.Fprintf(c.stderr, "%s run: job %q stopped with savepoint %s\n", c.prog, g.Name, savepoint)
		return ExitOK
	case errors.Is(err, actors.ErrCancelled):
		fmt.Fprintf(c.stderr, "%s run: job %q cancelled\n", c.prog, g.Name)
		return ExitFailed
	case errors.Is(err, actors.ErrRestore):
		fmt.Fprintf(c.stderr, "%s run: job %q failed: %v\n%s", c.prog, g.Name, err, ck.restoreHelp(g.Name))
		return ExitFailed
	case err != nil:
		fmt.Fprintf(c.stderr, "%s run: job %q failed: %v\n", c.prog, g.Name, err)
		return ExitFailed
	}
	if err := ck.finished(); err != nil {
		fmt.Fprintf(c.stderr, "%s run: job %q finished, but %v\n", c.prog, g.Name, err)
	}
	return ExitOK
}
