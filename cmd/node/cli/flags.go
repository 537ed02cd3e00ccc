package cli

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/troupe-dev/troupe/actors"
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

// memoryFlag registers --memory on fs, writing the budget in bytes into
// into; the size must be at least actors.MinMemory.
func memoryFlag(fs *flag.FlagSet, into *int64) {
	fs.Func("memory", "", func(s string) error {
		n, err := parseSize(s)
		if err != nil {
			return err
		}
		if n < actors.MinMemory {
			return fmt.Errorf("below the least budget, %dMiB", actors.MinMemory>>20)
		}
		*into = n
		return nil
	})
}

// gcPercentFlag registers --gc-percent on fs: a positive percentage the
// runtime takes (an int32, as GOGC), or off (actors.GCOff), into into.
func gcPercentFlag(fs *flag.FlagSet, into *int) {
	fs.Func("gc-percent", "", func(s string) error {
		if s == "off" {
			*into = actors.GCOff
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n < 1 {
			return fmt.Errorf("want a positive percentage, such as 400, or off; at most %d, as GOGC", math.MaxInt32)
		}
		*into = int(n)
		return nil
	})
}

// checkGCPercent refuses --gc-percent off without --memory: the collector
// would have no limit to run at.
func checkGCPercent(gcPercent int, memory int64) error {
	if gcPercent == actors.GCOff && memory == 0 {
		return fmt.Errorf("--gc-percent off needs --memory")
	}
	return nil
}

// sizeUnits are the units of parseSize: binary (IEC) and decimal (SI),
// as Kubernetes reads them; a bare number is bytes.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30, "ti": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

// parseSize reads a size such as 512MiB, 1.5GiB, 2GB or 1048576 (bytes).
// Units are case-insensitive: KiB, MiB, GiB, TiB (also Ki, Mi, Gi, Ti)
// are powers of 1024; kB, MB, GB, TB powers of 1000. A bare M or G is
// refused: it could mean either.
func parseSize(s string) (int64, error) {
	num := strings.TrimRightFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(s[len(num):]))]
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil || v <= 0 || num == "" || v*float64(unit) >= 1<<62 {
		return 0, fmt.Errorf("want a size such as 512MiB or 2GiB (units B, KiB, MiB, GiB, TiB; kB, MB, GB, TB are powers of 1000)")
	}
	return int64(v * float64(unit)), nil
}

// formatMiB writes a size in MiB, as --memory takes it.
func formatMiB(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + "MiB"
	}
	return strconv.FormatInt(n, 10) + "B"
}
