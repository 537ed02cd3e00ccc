package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/troupe-dev/troupe/actors"
)

// restartJitter varies each exponential delay by ±10 %, Flink's default
// jitter, so that jobs failing together do not retry in step.
const restartJitter = 0.1

const restartForms = "none, fixed:ATTEMPTS:DELAY, exp:INITIAL:MAX:MULT or rate:FAILURES:INTERVAL:DELAY"

// restartFlag is --restart: nil until set, so that the engine's default
// (by whether checkpointing is on) applies when it is not given.
type restartFlag struct{ strategy actors.RestartStrategy }

func (f *restartFlag) String() string { return "" }

func (f *restartFlag) Set(s string) error {
	r, err := parseRestart(s)
	if err != nil {
		return err
	}
	f.strategy = r
	return nil
}

// parseRestart reads a restart strategy: none, fixed:ATTEMPTS:DELAY,
// exp:INITIAL:MAX:MULT or rate:FAILURES:INTERVAL:DELAY.
func parseRestart(s string) (actors.RestartStrategy, error) {
	kind, rest, _ := strings.Cut(s, ":")
	args := strings.Split(rest, ":")
	switch {
	case kind == "none" && rest == "":
		return actors.NoRestart(), nil
	case kind == "fixed" && len(args) == 2:
		return parseFixed(args)
	case kind == "exp" && len(args) == 3:
		return parseExp(args)
	case kind == "rate" && len(args) == 3:
		return parseRate(args)
	}
	return nil, fmt.Errorf("want %s (such as fixed:3:10s)", restartForms)
}

func parseFixed(args []string) (actors.RestartStrategy, error) {
	attempts, err := strconv.Atoi(args[0])
	if err != nil || attempts < 0 {
		return nil, fmt.Errorf("fixed: ATTEMPTS %q is not an integer of at least 0", args[0])
	}
	delay, err := duration("fixed", "DELAY", args[1])
	if err != nil {
		return nil, err
	}
	return actors.FixedDelay(attempts, delay), nil
}

func parseExp(args []string) (actors.RestartStrategy, error) {
	initial, err := duration("exp", "INITIAL", args[0])
	if err != nil {
		return nil, err
	}
	most, err := duration("exp", "MAX", args[1])
	if err != nil {
		return nil, err
	}
	mult, err := strconv.ParseFloat(args[2], 64)
	switch {
	case err != nil || mult < 1:
		return nil, fmt.Errorf("exp: MULT %q is not a number of at least 1", args[2])
	case initial <= 0 || most < initial:
		return nil, fmt.Errorf("exp: want 0 < INITIAL <= MAX, have %v and %v", initial, most)
	}
	return actors.ExponentialDelay(initial, most, mult, restartJitter), nil
}

func parseRate(args []string) (actors.RestartStrategy, error) {
	failures, err := strconv.Atoi(args[0])
	if err != nil || failures < 1 {
		return nil, fmt.Errorf("rate: FAILURES %q is not an integer of at least 1", args[0])
	}
	interval, err := duration("rate", "INTERVAL", args[1])
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		return nil, fmt.Errorf("rate: INTERVAL must be positive")
	}
	delay, err := duration("rate", "DELAY", args[2])
	if err != nil {
		return nil, err
	}
	return actors.FailureRate(failures, interval, delay), nil
}

// duration reads the part name of a strategy kind: a duration of at least
// 0, such as 10s.
func duration(kind, name, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %s %q is not a duration such as 10s", kind, name, s)
	}
	return d, nil
}

// printRestart says on standard error that the job restarts, after what,
// and from which checkpoint (Config.OnRestart).
func (c *command) printRestart(r actors.RestartInfo) {
	from := "no checkpoint to restore: the sources start again from the beginning"
	if r.Checkpoint != 0 {
		from = fmt.Sprintf("restoring checkpoint %d (%s)", r.Checkpoint, r.CheckpointPath)
	}
	fmt.Fprintf(c.stderr, "%s run: job %q restart %d (attempt %d) after: %v; %s\n",
		c.prog, r.Job, r.Restart, r.Attempt, r.Cause, from)
}
