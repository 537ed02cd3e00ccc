package barrier

import (
	"fmt"
	"time"
)

// TaskID names one subtask of the job, for example "map#2". The
// Coordinator only compares IDs; the runtime chooses the naming.
type TaskID string

// Config configures a Coordinator. Start from DefaultConfig, then set Tasks
// and Sources.
type Config struct {
	// Interval is the period of the checkpoints Tick triggers; 0 turns
	// periodic checkpoints off (TriggerNow still works). Default 0.
	Interval time.Duration
	// Timeout aborts a checkpoint still pending this long after its
	// trigger, counting a failure. Default 10 minutes.
	Timeout time.Duration
	// MaxConcurrent is the most checkpoints pending at once. Savepoints
	// are neither counted nor limited. Default 1.
	MaxConcurrent int
	// MinPause is the least time from the end (completion or abort) of one
	// checkpoint to the trigger of the next. A pending checkpoint has no
	// end yet, so MinPause > 0 means one checkpoint at a time, as in Flink.
	// Default 0.
	MinPause time.Duration
	// TolerableFailures is how many consecutive failed checkpoints the job
	// tolerates; the next one emits FailJob. Default 0: the first failure
	// fails the job.
	TolerableFailures int
	// History is how many ended checkpoints keep their Stats. Default 10.
	History int
	// FirstID is the ID of the first checkpoint. A job resumed from stored
	// checkpoints sets it above their IDs, so that no ID is ever reused.
	// Default 1.
	FirstID int64
	// Tasks lists every subtask of the job; a checkpoint completes when all
	// of them have acked. Required.
	Tasks []TaskID
	// Sources lists the tasks, among Tasks, that receive Trigger and inject
	// the barrier. Required.
	Sources []TaskID
}

// DefaultConfig returns the defaults, without Tasks and Sources.
func DefaultConfig() Config {
	return Config{Timeout: 10 * time.Minute, MaxConcurrent: 1, History: 10, FirstID: 1}
}

func (c *Config) validate() error {
	switch {
	case c.Interval < 0:
		return fmt.Errorf("%w: Interval %v must not be negative", ErrConfig, c.Interval)
	case c.Timeout <= 0:
		return fmt.Errorf("%w: Timeout %v must be positive", ErrConfig, c.Timeout)
	case c.MaxConcurrent < 1:
		return fmt.Errorf("%w: MaxConcurrent %d must be at least 1", ErrConfig, c.MaxConcurrent)
	case c.MinPause < 0:
		return fmt.Errorf("%w: MinPause %v must not be negative", ErrConfig, c.MinPause)
	case c.TolerableFailures < 0:
		return fmt.Errorf("%w: TolerableFailures %d must not be negative", ErrConfig, c.TolerableFailures)
	case c.History < 0:
		return fmt.Errorf("%w: History %d must not be negative", ErrConfig, c.History)
	case c.FirstID < 1:
		return fmt.Errorf("%w: FirstID %d must be at least 1", ErrConfig, c.FirstID)
	}
	return c.validateTasks()
}

func (c *Config) validateTasks() error {
	if len(c.Tasks) == 0 {
		return fmt.Errorf("%w: Tasks is empty", ErrConfig)
	}
	if len(c.Sources) == 0 {
		return fmt.Errorf("%w: Sources is empty", ErrConfig)
	}
	tasks := make(map[TaskID]bool, len(c.Tasks))
	for _, t := range c.Tasks {
		if t == "" || tasks[t] {
			return fmt.Errorf("%w: Tasks: empty or repeated task %q", ErrConfig, t)
		}
		tasks[t] = true
	}
	sources := make(map[TaskID]bool, len(c.Sources))
	for _, s := range c.Sources {
		if !tasks[s] || sources[s] {
			return fmt.Errorf("%w: Sources: task %q repeated or not in Tasks", ErrConfig, s)
		}
		sources[s] = true
	}
	return nil
}
