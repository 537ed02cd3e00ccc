package cli

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/troupe-dev/troupe/actors"
)

// Exit codes of Main; see the package documentation.
const (
	ExitOK     = 0 // success
	ExitFailed = 1 // the job failed or was cancelled
	ExitUsage  = 2 // a bad command line
)

// defaultProg is the command's name when the program's own cannot be
// told (see programName).
const defaultProg = "node"

const usage = `Usage:
  node run PIPELINE [--param key=value]... [--parallelism N] [flags]
  node pipelines
  node start [--join HOST:PORT,...] [--http HOST:PORT] [flags]
  node submit PIPELINE [--param key=value]... [--parallelism N] [flags]
  node jobs | job ID | cancel ID | savepoint ID [--stop] | wait ID
  node members
  node publish nexmark nats://HOST:PORT/STREAM [--events N]
  node help [COMMAND]

Commands:
  run        run a registered pipeline on an in-process engine until its
             input ends, or until SIGINT/SIGTERM stops it gracefully
             (a second signal cancels it)
  pipelines  list the registered pipelines and their parameters
  start      start a cluster node; it runs until SIGINT/SIGTERM, then
             leaves the cluster
  submit     submit a pipeline to a cluster and print the job's id
  jobs       list a cluster's jobs
  job        show a job: state, checkpoint, failure, where subtasks run
  cancel     cancel a job
  savepoint  take a savepoint of a job (--stop: and stop it)
  wait       wait until a job has ended (exit 0 finished, 1 otherwise)
  members    list a cluster's members and their slots
  publish    store Nexmark events in a JetStream stream (for demos of
             the pipelines' nats:// inputs)
  help       show this help, or the help of a command

The cluster commands (submit to members) talk to a node's REST API at
--server URL (default: $TROUPE_SERVER, else http://127.0.0.1:8081); for a
secured cluster, with --api-token-file FILE (or $TROUPE_API_TOKEN) and
--tls-ca FILE.

Exit codes: 0 success, 1 the job failed or was cancelled (or the node
could not be reached), 2 usage error.
`

// Main runs the node command line args (without the program name) against
// the pipelines of reg, writes to stdout and stderr, and returns the exit
// code. While a job runs it handles SIGINT and SIGTERM; see the package
// documentation. A nil reg is an empty registry.
func Main(args []string, reg *actors.Registry, stdout, stderr io.Writer, opts ...Option) int {
	c := newCommand(reg, stdout, stderr, notifySignals)
	c.prog = programName(os.Args)
	c.terminal = isTerminal(stderr)
	for _, o := range opts {
		o(c)
	}
	return c.main(args)
}

// Option configures Main.
type Option func(*command)

// WithName names the command in its messages and usage texts ("mytool
// run: …", "Usage: mytool run PIPELINE …"). Default: the name of the
// program's executable, so that a program of one's own that hands its
// command line to Main speaks as itself.
func WithName(name string) Option {
	return func(c *command) {
		if name != "" {
			c.prog = name
		}
	}
}

// programName returns the base name of the executable (args[0]), without
// an .exe suffix; defaultProg when there is none.
func programName(args []string) string {
	if len(args) == 0 {
		return defaultProg
	}
	name := strings.TrimSuffix(filepath.Base(args[0]), ".exe")
	if name == "" || name == "." || name == string(filepath.Separator) {
		return defaultProg
	}
	return name
}

// WithStart sets how node start starts a cluster node. Without it, node
// start says the program has no cluster runtime.
func WithStart(start StartFunc) Option { return func(c *command) { c.start = start } }

// command is one invocation of the command line.
type command struct {
	prog   string // the command's name in messages and usage
	reg    *actors.Registry
	stdout io.Writer
	stderr *lockedWriter // shared with the engine's logger, hence locked
	// notify starts delivering stop signals and returns their channel and
	// a function that stops the delivery. Tests replace it, so that no
	// real signal is sent to the test process.
	notify func() (<-chan os.Signal, func())
	// notifyReload does the same for SIGHUP, on which node start reads
	// its key and token files again.
	notifyReload func() (<-chan os.Signal, func())
	// start starts a cluster node (node start); nil: none in this program.
	start StartFunc
	// hostname names the machine, for node start's default node name.
	hostname func() (string, error)
	// getenv reads the environment (secrets, --server's default).
	getenv func(string) string
	// pollInterval is how often wait asks for a job's state.
	pollInterval time.Duration
	// terminal: stderr is a terminal, where node run's progress is one
	// line updated in place; progressEvery is how often it is reported
	// (0: the default for the kind of output).
	terminal      bool
	progressEvery time.Duration
}

func newCommand(reg *actors.Registry, stdout, stderr io.Writer, notify func() (<-chan os.Signal, func())) *command {
	if reg == nil {
		reg = actors.NewRegistry()
	}
	return &command{prog: defaultProg, reg: reg, stdout: stdout, stderr: &lockedWriter{w: stderr}, notify: notify,
		notifyReload: notifyHangup, hostname: os.Hostname, getenv: os.Getenv, pollInterval: defaultPollInterval}
}

// notifyHangup relays SIGHUP.
func notifyHangup() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}

// notifySignals relays SIGINT and SIGTERM. The buffer holds both the stop
// and the cancel signal, so neither is lost while the command is busy.
func notifySignals() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

func (c *command) main(args []string) int {
	if len(args) == 0 {
		return c.usageError("", fmt.Errorf("missing command"))
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return c.run(rest)
	case "pipelines":
		return c.pipelines(rest)
	case "start":
		return c.startNode(rest)
	case "submit":
		return c.submit(rest)
	case "jobs":
		return c.jobs(rest)
	case "job":
		return c.job(rest)
	case "cancel":
		return c.cancel(rest)
	case "savepoint":
		return c.savepoint(rest)
	case "wait":
		return c.wait(rest)
	case "members":
		return c.members(rest)
	case "publish":
		return c.publish(rest)
	case "help", "-h", "-help", "--help":
		return c.help(rest)
	default:
		return c.usageError("", fmt.Errorf("unknown command %q", cmd))
	}
}

// helps are the usage texts of the commands, for help COMMAND.
var helps = map[string]string{
	"run": runUsage, "pipelines": usage, "start": startUsage, "submit": submitUsage, "jobs": jobsUsage,
	"job": jobUsage, "cancel": cancelUsage, "savepoint": savepointUsage, "wait": waitUsage, "members": membersUsage,
	"publish": publishUsage,
}

func (c *command) help(args []string) int {
	switch {
	case len(args) == 0:
		c.printUsage(usage)
	case len(args) == 1 && helps[args[0]] != "":
		c.printUsage(helps[args[0]])
	default:
		return c.usageError("help", fmt.Errorf("no help for %q", args[0]))
	}
	return ExitOK
}

// commandWord matches the command's own name where the usage texts
// write it: before a subcommand or flag ("node run", "node --help").
var commandWord = regexp.MustCompile(`\bnode( (?:run|pipelines|start|submit|jobs|job|cancel|savepoint|wait|members|help|--help|-h|COMMAND)\b)`)

// printUsage prints a usage text, written for "node", with the command's
// own name.
func (c *command) printUsage(text string) {
	if c.prog != defaultProg {
		text = commandWord.ReplaceAllString(text, c.prog+"$1")
	}
	fmt.Fprint(c.stdout, text)
}

// usageError reports a bad command line of sub (empty for the top level),
// with a hint to the matching help, and returns ExitUsage.
func (c *command) usageError(sub string, err error) int {
	name := c.prog
	if sub != "" {
		name += " " + sub
	}
	fmt.Fprintf(c.stderr, "%s: %v\nRun '%s --help' for usage.\n", name, err, name)
	return ExitUsage
}

func (c *command) pipelines(args []string) int {
	if len(args) > 0 {
		if isHelp(args[0]) {
			c.printUsage(usage)
			return ExitOK
		}
		return c.usageError("pipelines", fmt.Errorf("unexpected argument %q", args[0]))
	}
	specs := c.reg.Specs()
	if len(specs) == 0 {
		fmt.Fprintln(c.stdout, "No pipelines are registered.")
	}
	for i, spec := range specs {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		writeSpec(c.stdout, spec)
	}
	return ExitOK
}

// writeSpec prints a pipeline's name and description, then one aligned
// line per parameter: name, whether it is required or its default, and
// what it means.
func writeSpec(w io.Writer, spec actors.PipelineSpec) {
	fmt.Fprintf(w, "%s  %s\n", spec.Name, spec.Description)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range spec.Params {
		need := "optional"
		switch {
		case p.Required:
			need = "required"
		case p.Default != "":
			need = "default " + p.Default
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", p.Name, need, p.Description)
	}
	tw.Flush()
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// lockedWriter serialises writes from the command and the engine's
// logger, which runs on actor goroutines. On a terminal it keeps a status
// line (node run's progress) at the bottom: other output clears it,
// goes above it, and it is drawn again.
type lockedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	status string // the status line shown; "" for none
}

// clearLine returns the cursor to the start of the line and clears it.
const clearLine = "\r\x1b[K"

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status == "" {
		return l.w.Write(p)
	}
	io.WriteString(l.w, clearLine)
	n, err := l.w.Write(p)
	io.WriteString(l.w, l.status)
	return n, err
}

// setStatus shows line in place of the previous status line; "" clears
// it. A line wider than the terminal would wrap and could not be
// replaced: it is cut to $COLUMNS (default 120).
func (l *lockedWriter) setStatus(line string) {
	if r := []rune(line); len(r) > statusWidth()-1 {
		line = string(r[:statusWidth()-2]) + "…"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status != "" || line != "" {
		io.WriteString(l.w, clearLine+line)
	}
	l.status = line
}

func statusWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 20 {
		return n
	}
	return 120
}
