package actors

import (
	"math/rand/v2"
	"time"
)

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

// ExponentialDelay restarts the job after every failure, waiting initial,
// then multiplier times longer each time up to max, each delay varied by
// ±jitter (a fraction, such as 0.1) so that jobs failing together do not
// retry in step. It is the default when checkpointing is on (1 s, ×1.5,
// 1 min, 0.1), as in Flink.
func ExponentialDelay(initial, max time.Duration, multiplier, jitter float64) RestartStrategy {
	return expDelay{initial: initial, max: max, mult: multiplier, jitter: jitter}
}

type expDelay struct {
	initial, max time.Duration
	mult, jitter float64
}

func (e expDelay) Restart(failures int, _ time.Time, _ error) (bool, time.Duration) {
	d := float64(e.initial)
	for i := 1; i < failures && d < float64(e.max); i++ {
		d *= max(e.mult, 1)
	}
	d = min(d, float64(e.max))
	if e.jitter > 0 {
		d *= 1 + e.jitter*(2*rand.Float64()-1)
	}
	return true, time.Duration(d)
}

// FailureRate restarts the job after delay unless more than maxFailures
// failures happened within interval, in which case the job fails.
func FailureRate(maxFailures int, interval, delay time.Duration) RestartStrategy {
	return &failureRate{max: maxFailures, interval: interval, delay: delay}
}

// failureRate is called by one job master only, from its goroutine.
type failureRate struct {
	max             int
	interval, delay time.Duration
	times           []time.Time
}

func (f *failureRate) Restart(_ int, now time.Time, _ error) (bool, time.Duration) {
	f.times = append(f.times, now)
	for len(f.times) > 0 && now.Sub(f.times[0]) > f.interval {
		f.times = f.times[1:]
	}
	return len(f.times) <= f.max, f.delay
}

// RestartInfo describes one restart of a job, for Config.OnRestart.
type RestartInfo struct {
	Job     string // the job's (pipeline's) name
	Run     string // the job's run (Job.RunID)
	Restart int    // the restarts of the job so far, this one included
	Attempt int    // the deployment starting now (2 at the first restart)
	Cause   error  // the failure restarted after
	// Checkpoint is the ID of the checkpoint the attempt restores, and
	// CheckpointPath its path; 0 and "" when there is none, and the
	// sources start from the beginning with empty state.
	Checkpoint     int64
	CheckpointPath string
}

// notifyRestart tells Config.OnRestart that attempt m.attempt, a
// restart, starts from plan (nil: from scratch).
func (m *master) notifyRestart(plan *restorePlan) {
	if m.cfg.OnRestart == nil {
		return
	}
	info := RestartInfo{Job: m.graph.Name, Run: m.job.run, Restart: m.job.Restarts(), Attempt: m.attempt, Cause: m.restartCause}
	if plan != nil {
		info.Checkpoint, info.CheckpointPath = plan.id, plan.path
	}
	m.cfg.OnRestart(info)
}
