package cli

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

// newFlagSet returns a flag set for command name that reports nothing
// itself: errors are reported by the caller, with a hint to --help.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseInterleaved parses args with fs and returns the positional
// arguments. The flag package stops at the first argument that is not a
// flag, so parsing resumes after each one, which lets flags come before
// or after the positional arguments. It returns flag.ErrHelp for -h or
// --help.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if args = fs.Args(); len(args) == 0 {
			return positional, nil
		}
		positional, args = append(positional, args[0]), args[1:]
	}
}

// jobFlags are the flags that describe a job, the same for run (a job in
// this process) and submit (a job on a cluster).
type jobFlags struct {
	params      map[string]string
	parallelism int           // 0: the pipeline's own
	interval    time.Duration // 0: no checkpoints
	backend     string        // "": the default (heap)
	restore     string
	// unaligned checkpoints; alignmentTimeout > 0 starts them aligned
	unaligned        bool
	alignmentTimeout time.Duration
}

// add registers the job flags on fs, writing into f; f.params must not be
// nil.
func (f *jobFlags) add(fs *flag.FlagSet) {
	fs.Var(paramFlag(f.params), "param", "")
	fs.Var(paramFlag(f.params), "p", "")
	fs.Func("parallelism", "", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("want an integer of at least 1")
		}
		f.parallelism = n
		return nil
	})
	fs.Func("checkpoint-interval", "", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration such as 200ms or 10s")
		}
		f.interval = d
		return nil
	})
	fs.Func("state-backend", "", func(s string) error {
		switch s {
		case "heap", "bbolt":
			f.backend = s
			return nil
		}
		return fmt.Errorf("unknown state backend %q; want heap or bbolt", s)
	})
	fs.StringVar(&f.restore, "restore", "", "")
	fs.BoolVar(&f.unaligned, "unaligned", false, "")
	fs.Func("alignment-timeout", "", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 50ms (0: unaligned from the start)")
		}
		f.alignmentTimeout = d
		return nil
	})
}

// check rejects job flags that make no sense together.
func (f *jobFlags) check() error {
	if f.unaligned && f.interval == 0 {
		return fmt.Errorf("--unaligned needs --checkpoint-interval")
	}
	if f.alignmentTimeout > 0 && !f.unaligned {
		return fmt.Errorf("--alignment-timeout needs --unaligned")
	}
	return nil
}
