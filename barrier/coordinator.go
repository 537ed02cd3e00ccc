package barrier

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Coordinator is the checkpoint state machine of one job. Each event
// method takes the current time and returns the Actions the runtime must
// carry out, in order; methods that may refuse an event also return an
// error, and then change nothing and return no action.
//
// Once WriteMetadata has been issued for a checkpoint, only the write's
// outcome ends it (as in Flink: durable metadata is a complete
// checkpoint). Its timeout, a decline, a newer completion and Reset leave
// it pending, so that the runtime never discards state that the metadata
// being written lists, and never keeps metadata whose state it discarded.
//
// It is not safe for concurrent use: one actor (the job master's
// checkpoint coordinator) owns it and calls it from its message loop.
type Coordinator struct {
	cfg      Config
	tasks    map[TaskID]bool
	nextID   int64
	latest   int64         // latest completed ID; 0: none yet
	pending  []*checkpoint // ascending IDs, since IDs grow with each trigger
	failures int           // consecutive failed checkpoints
	failing  bool          // FailJob was issued; no triggers until Reset
	armed    bool          // the periodic clock runs
	// suspended: no periodic trigger until Resume (a stop with savepoint
	// is pending or done)
	suspended bool
	due       time.Time // when the next periodic checkpoint is due
	lastEnd   time.Time // when the last checkpoint ended; zero: never
	history   []Stats   // ended checkpoints, oldest first
}

// NewCoordinator returns a coordinator for cfg, or an error wrapping
// ErrConfig that names the invalid field.
func NewCoordinator(cfg Config) (*Coordinator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Tasks, cfg.Sources = slices.Clone(cfg.Tasks), slices.Clone(cfg.Sources)
	c := &Coordinator{cfg: cfg, tasks: make(map[TaskID]bool, len(cfg.Tasks)), nextID: cfg.FirstID}
	for _, t := range cfg.Tasks {
		c.tasks[t] = true
	}
	return c, nil
}

// Tick advances the clock; the runtime calls it periodically (a fraction of
// Interval and of Timeout is a good period). It aborts the checkpoints
// pending for Timeout or longer, each a failure, then triggers a periodic
// checkpoint if one is due and MaxConcurrent and MinPause allow it.
//
// The first Tick starts the periodic clock: the first checkpoint is due one
// Interval later, since a checkpoint of a job that has processed nothing is
// useless. A checkpoint held back by MaxConcurrent or MinPause is
// triggered by the first Tick that allows it, and the next is due one
// Interval after that: there is no burst to catch up.
func (c *Coordinator) Tick(now time.Time) []Action {
	acts := c.expire(now)
	if c.cfg.Interval == 0 || c.suspended {
		return acts
	}
	if !c.armed {
		c.arm(now)
		return acts
	}
	if now.Before(c.due) || c.mayTrigger(now) != nil {
		return acts
	}
	c.due = now.Add(c.cfg.Interval)
	return append(acts, c.trigger(now, false))
}

// Suspend stops the periodic checkpoints until Resume, as Flink does for
// a stop with savepoint: no checkpoint may follow the savepoint, or sinks
// would commit output past it. Tick still aborts the checkpoints that time
// out, and TriggerNow still works.
func (c *Coordinator) Suspend() { c.suspended = true }

// Resume restarts the periodic checkpoints after Suspend (the stop with
// savepoint failed and the job goes on): the next one is due one Interval
// after now.
func (c *Coordinator) Resume(now time.Time) {
	c.suspended = false
	c.arm(now)
}

// Suspended reports whether Suspend was called and Resume not since.
func (c *Coordinator) Suspended() bool { return c.suspended }

// TriggerNow triggers a checkpoint at once, for the user: the Interval does
// not apply. A checkpoint respects MaxConcurrent and MinPause and is refused
// with ErrMaxConcurrent or ErrMinPause. A savepoint, as in Flink, is
// allowed whatever MaxConcurrent and MinPause say, does not count towards
// them, is never subsumed, and stays outside the failure tally: its
// failure is not counted against TolerableFailures, nor does its
// completion reset the count. Both are refused with ErrJobFailing between
// FailJob and Reset.
func (c *Coordinator) TriggerNow(now time.Time, savepoint bool) (Trigger, error) {
	if c.failing {
		return Trigger{}, ErrJobFailing
	}
	if !savepoint {
		if err := c.mayTrigger(now); err != nil {
			return Trigger{}, err
		}
	}
	return c.trigger(now, savepoint), nil
}

// Ack records task's acknowledgement of checkpoint id with its state
// handle. The last ack returns WriteMetadata. An ack from an unknown task,
// for an unknown or ended checkpoint, or a duplicate, is refused with an
// error wrapping ErrUnknownTask, ErrUnknownCheckpoint, ErrCheckpointEnded
// or ErrDuplicateAck; the coordinator then keeps no reference to handle.
func (c *Coordinator) Ack(now time.Time, id int64, task TaskID, handle any) ([]Action, error) {
	p, err := c.lookup(id, task)
	if err == nil {
		if _, dup := p.acks[task]; dup {
			err = ErrDuplicateAck
		}
	}
	if err != nil {
		return nil, fmt.Errorf("barrier: ack of checkpoint %d from %q: %w", id, task, err)
	}
	p.acks[task], p.lastAck = handle, now
	if len(p.acks) < len(c.cfg.Tasks) {
		return nil, nil
	}
	p.writing = true
	return []Action{WriteMetadata{ID: p.id, Savepoint: p.savepoint, Handles: maps.Clone(p.acks)}}, nil
}

// Decline aborts checkpoint id because task could not take part in it
// (reason says why). It counts as a failure, unless reason wraps
// ErrSubsumed: the task gave the checkpoint up for a newer one. It is
// refused like Ack for an unknown task or an unknown or ended checkpoint,
// and with ErrMetadataWriting once every task has acked.
func (c *Coordinator) Decline(now time.Time, id int64, task TaskID, reason error) ([]Action, error) {
	p, err := c.lookup(id, task)
	if err == nil && p.writing {
		err = ErrMetadataWriting
	}
	if err != nil {
		return nil, fmt.Errorf("barrier: decline of checkpoint %d from %q: %w", id, task, err)
	}
	why := fmt.Errorf("%w by %q", ErrDeclined, task)
	if reason != nil {
		why = fmt.Errorf("%w by %q: %w", ErrDeclined, task, reason)
	}
	if errors.Is(reason, ErrSubsumed) {
		return []Action{c.abort(now, p, why)}, nil
	}
	return c.fail(now, p, why), nil
}

// MetadataWritten reports the outcome of the write that WriteMetadata
// asked for. On success checkpoint id completes: it returns NotifyComplete
// and aborts, as subsumed, every pending checkpoint older than id
// (savepoints and those being written excepted), and resets the
// consecutive failure count; if a newer checkpoint completed first, it
// returns LateComplete instead and aborts nothing. On failure (err != nil)
// the checkpoint is aborted and counts as a failure (a savepoint's does
// not).
//
// A checkpoint being written cannot end otherwise, so a second report
// returns an error wrapping ErrCheckpointEnded. Before WriteMetadata it
// returns ErrNotAcknowledged.
func (c *Coordinator) MetadataWritten(now time.Time, id int64, err error) ([]Action, error) {
	p, ferr := c.find(id)
	if ferr == nil && !p.writing {
		ferr = ErrNotAcknowledged
	}
	if ferr != nil {
		return nil, fmt.Errorf("barrier: metadata of checkpoint %d: %w", id, ferr)
	}
	if err != nil {
		return c.fail(now, p, fmt.Errorf("%w: %w", ErrMetadataWrite, err)), nil
	}
	return c.complete(now, p), nil
}

// Reset is called when the job restarts: every pending checkpoint is
// aborted with ErrReset, which is not a failure, except those whose
// metadata is being written: their write decides, and one that succeeds is
// complete whichever attempt runs then. IDs keep increasing, so an
// old checkpoint's late messages are recognised and refused. A Reset that
// answers FailJob also clears the failure count, as Flink does when it
// fails the job; a restart for another cause keeps it. The periodic clock
// restarts: the next checkpoint is due one Interval after now.
func (c *Coordinator) Reset(now time.Time) []Action {
	var acts []Action
	for _, p := range slices.Clone(c.pending) {
		if !p.writing {
			acts = append(acts, c.abort(now, p, ErrReset))
		}
	}
	if c.failing {
		c.failing, c.failures = false, 0
	}
	c.arm(now)
	return acts
}

// LatestCompleted returns the ID of the latest completed checkpoint or
// savepoint, or 0 if none has completed.
func (c *Coordinator) LatestCompleted() int64 { return c.latest }

// Pending returns the IDs of the pending checkpoints and savepoints
// (including those whose metadata is being written), ascending.
func (c *Coordinator) Pending() []int64 {
	ids := make([]int64, len(c.pending))
	for i, p := range c.pending {
		ids[i] = p.id
	}
	return ids
}

// ConsecutiveFailures returns the number of checkpoints that failed since
// the last one completed.
func (c *Coordinator) ConsecutiveFailures() int { return c.failures }

// Failing reports whether FailJob was issued and Reset not called since.
func (c *Coordinator) Failing() bool { return c.failing }

// Stats returns the statistics of checkpoint id, if it is pending or among
// the last Config.History ended ones.
func (c *Coordinator) Stats(id int64) (Stats, bool) {
	if p, err := c.find(id); err == nil {
		return p.stats(len(c.cfg.Tasks)), true
	}
	for _, s := range c.history {
		if s.ID == id {
			return s, true
		}
	}
	return Stats{}, false
}

// History returns the statistics of the last Config.History ended
// checkpoints, oldest first.
func (c *Coordinator) History() []Stats { return slices.Clone(c.history) }

func (c *Coordinator) arm(now time.Time) {
	c.armed, c.due = true, now.Add(c.cfg.Interval)
}

// running counts the pending checkpoints that MaxConcurrent limits.
func (c *Coordinator) running() int {
	n := 0
	for _, p := range c.pending {
		if !p.savepoint {
			n++
		}
	}
	return n
}

// mayTrigger says why a checkpoint (not a savepoint) may not start now.
func (c *Coordinator) mayTrigger(now time.Time) error {
	n := c.running()
	switch {
	case c.failing:
		return ErrJobFailing
	case n >= c.cfg.MaxConcurrent:
		return ErrMaxConcurrent
	case c.cfg.MinPause == 0:
		return nil
	case n > 0, !c.lastEnd.IsZero() && now.Before(c.lastEnd.Add(c.cfg.MinPause)):
		return ErrMinPause
	}
	return nil
}

func (c *Coordinator) trigger(now time.Time, savepoint bool) Trigger {
	p := &checkpoint{id: c.nextID, savepoint: savepoint, triggered: now, acks: make(map[TaskID]any, len(c.tasks))}
	c.nextID++
	c.pending = append(c.pending, p)
	return Trigger{ID: p.id, Savepoint: savepoint, Sources: slices.Clone(c.cfg.Sources)}
}

// lookup finds pending checkpoint id for a message from task.
func (c *Coordinator) lookup(id int64, task TaskID) (*checkpoint, error) {
	if !c.tasks[task] {
		return nil, ErrUnknownTask
	}
	return c.find(id)
}

func (c *Coordinator) find(id int64) (*checkpoint, error) {
	for _, p := range c.pending {
		if p.id == id {
			return p, nil
		}
	}
	if id >= c.cfg.FirstID && id < c.nextID {
		return nil, ErrCheckpointEnded
	}
	return nil, ErrUnknownCheckpoint
}

// expire aborts the checkpoints pending for Timeout or longer, except
// those whose metadata is being written: the write decides.
func (c *Coordinator) expire(now time.Time) []Action {
	var acts []Action
	for _, p := range slices.Clone(c.pending) {
		if age := now.Sub(p.triggered); age >= c.cfg.Timeout && !p.writing {
			acts = append(acts, c.fail(now, p, fmt.Errorf("%w after %v", ErrTimeout, age))...)
		}
	}
	return acts
}

// complete ends p as completed once its metadata is written.
func (c *Coordinator) complete(now time.Time, p *checkpoint) []Action {
	c.end(now, p, nil)
	if !p.savepoint {
		c.failures = 0
	}
	if p.id < c.latest {
		// A savepoint, or a write that outlived a newer one's: restorable,
		// but every subtask already heard of a newer completion.
		return []Action{LateComplete{ID: p.id, Savepoint: p.savepoint}}
	}
	c.latest = p.id
	acts := []Action{NotifyComplete{ID: p.id}}
	for _, old := range slices.Clone(c.pending) {
		if old.id < p.id && !old.savepoint && !old.writing {
			acts = append(acts, c.abort(now, old, fmt.Errorf("%w by checkpoint %d", ErrSubsumed, p.id)))
		}
	}
	return acts
}

// fail aborts p and counts a failure (savepoints excepted); past
// TolerableFailures it fails the job, once until Reset.
func (c *Coordinator) fail(now time.Time, p *checkpoint, reason error) []Action {
	acts := []Action{c.abort(now, p, reason)}
	if p.savepoint {
		return acts
	}
	c.failures++
	if c.failing || c.failures <= c.cfg.TolerableFailures {
		return acts
	}
	c.failing = true
	return append(acts, FailJob{Reason: fmt.Errorf("%w (%d, tolerable %d), the last: checkpoint %d: %w",
		ErrTooManyFailures, c.failures, c.cfg.TolerableFailures, p.id, reason)})
}

func (c *Coordinator) abort(now time.Time, p *checkpoint, reason error) Abort {
	c.end(now, p, reason)
	return Abort{ID: p.id, Savepoint: p.savepoint, Reason: reason, Handles: p.acks}
}

// end removes p from the pending ones and records its Stats.
func (c *Coordinator) end(now time.Time, p *checkpoint, reason error) {
	c.pending = slices.DeleteFunc(c.pending, func(q *checkpoint) bool { return q == p })
	if !p.savepoint {
		c.lastEnd = now // savepoints stay outside the periodic schedule
	}
	c.history = append(c.history, p.ended(len(c.cfg.Tasks), now, reason))
	if over := len(c.history) - c.cfg.History; over > 0 {
		c.history = slices.Delete(c.history, 0, over)
	}
}
