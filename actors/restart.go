package actors

import "time"

// RestartStrategy decides, after a subtask failure, whether the job is
// redeployed and after which delay. failures counts the failures of this
// job so far, this one included. The checkpoint issue adds strategies that
// restore state; the master's redeploy mechanism stays the same.
type RestartStrategy interface {
	Restart(failures int, now time.Time, err error) (restart bool, delay time.Duration)
}

// NoRestart fails the job at the first failure.
func NoRestart() RestartStrategy { return noRestart{} }

type noRestart struct{}

func (noRestart) Restart(int, time.Time, error) (bool, time.Duration) { return false, 0 }

// FixedDelay restarts the job up to attempts times, waiting delay before
// each restart. Without checkpoints a restart replays every source from
// its start.
func FixedDelay(attempts int, delay time.Duration) RestartStrategy {
	return fixedDelay{attempts: attempts, delay: delay}
}

type fixedDelay struct {
	attempts int
	delay    time.Duration
}

func (f fixedDelay) Restart(failures int, _ time.Time, _ error) (bool, time.Duration) {
	return failures <= f.attempts, f.delay
}
