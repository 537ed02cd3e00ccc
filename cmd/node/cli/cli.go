package cli

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"text/tabwriter"

	"github.com/troupe-dev/troupe/actors"
)

// Exit codes of Main; see the package documentation.
const (
	ExitOK     = 0 // success
	ExitFailed = 1 // the job failed or was cancelled
	ExitUsage  = 2 // a bad command line
)

// prog is the command's name in messages and usage.
const prog = "node"

const usage = `Usage:
  node run PIPELINE [--param key=value]... [--parallelism N]
  node pipelines
  node publish nexmark nats://HOST:PORT/STREAM [--events N]
  node help [run|publish]

Commands:
  run        run a registered pipeline on an in-process engine until its
             input ends, or until SIGINT/SIGTERM stops it gracefully
             (a second signal cancels it)
  pipelines  list the registered pipelines and their parameters
  publish    store Nexmark events in a JetStream stream (for demos of
             the pipelines' nats:// inputs)
  help       show this help, or the help of run or publish

Exit codes: 0 success, 1 the job failed or was cancelled, 2 usage error.
`

// Main runs the node command line args (without the program name) against
// the pipelines of reg, writes to stdout and stderr, and returns the exit
// code. While a job runs it handles SIGINT and SIGTERM; see the package
// documentation. A nil reg is an empty registry.
func Main(args []string, reg *actors.Registry, stdout, stderr io.Writer) int {
	return newCommand(reg, stdout, stderr, notifySignals).main(args)
}

// command is one invocation of the command line.
type command struct {
	reg    *actors.Registry
	stdout io.Writer
	stderr io.Writer // shared with the engine's logger, hence locked
	// notify starts delivering stop signals and returns their channel and
	// a function that stops the delivery. Tests replace it, so that no
	// real signal is sent to the test process.
	notify func() (<-chan os.Signal, func())
}

func newCommand(reg *actors.Registry, stdout, stderr io.Writer, notify func() (<-chan os.Signal, func())) *command {
	if reg == nil {
		reg = actors.NewRegistry()
	}
	return &command{reg: reg, stdout: stdout, stderr: &lockedWriter{w: stderr}, notify: notify}
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
	case "publish":
		return c.publish(rest)
	case "help", "-h", "-help", "--help":
		return c.help(rest)
	default:
		return c.usageError("", fmt.Errorf("unknown command %q", cmd))
	}
}

func (c *command) help(args []string) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(c.stdout, usage)
	case len(args) == 1 && args[0] == "run":
		fmt.Fprint(c.stdout, runUsage)
	case len(args) == 1 && args[0] == "publish":
		fmt.Fprint(c.stdout, publishUsage)
	default:
		return c.usageError("help", fmt.Errorf("no help for %q", args[0]))
	}
	return ExitOK
}

// usageError reports a bad command line of sub (empty for the top level),
// with a hint to the matching help, and returns ExitUsage.
func (c *command) usageError(sub string, err error) int {
	name := prog
	if sub != "" {
		name += " " + sub
	}
	fmt.Fprintf(c.stderr, "%s: %v\nRun '%s --help' for usage.\n", name, err, name)
	return ExitUsage
}

func (c *command) pipelines(args []string) int {
	if len(args) > 0 {
		if isHelp(args[0]) {
			fmt.Fprint(c.stdout, usage)
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
// logger, which runs on actor goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
