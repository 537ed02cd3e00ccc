package barrier

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// coordHarness drives a Coordinator from fuzz bytes and checks what it
// returns.
type coordHarness struct {
	t           *testing.T
	c           *Coordinator
	now         time.Time
	savepoint   map[int64]bool
	ended       map[int64]bool
	writing     map[int64]bool // WriteMetadata issued
	failedWrite int64          // the checkpoint whose write the current event failed
	lastTrigger int64
	lastNotify  int64
	failJobs    int // since the last Reset
}

func fuzzConfig(a, b byte) Config {
	cfg := DefaultConfig()
	tasks := 1 + int(a%4)
	for i := range tasks {
		cfg.Tasks = append(cfg.Tasks, TaskID(fmt.Sprintf("t%d", i)))
	}
	cfg.Sources = cfg.Tasks[:1+int(a/4)%tasks]
	cfg.MaxConcurrent = 1 + int(a/16)%3
	cfg.TolerableFailures = int(b % 3)
	cfg.Interval = []time.Duration{0, 5 * time.Second, 10 * time.Second}[b/3%3]
	cfg.MinPause = []time.Duration{0, 3 * time.Second}[b/9%2]
	cfg.Timeout = []time.Duration{30 * time.Second, time.Minute}[b/18%2]
	cfg.History = 3
	return cfg
}

func FuzzCoordinator(f *testing.F) {
	// Bytes 0 and 1 pick the config (see fuzzConfig), then pairs (op, arg)
	// pick events (see coordHarness.event): 0x00 Tick after arg s, 0x03
	// TriggerNow, 0x05 Ack from a task missing, 0x19 Decline, 0x1a a
	// successful metadata write, 0x0a a failed one, 0x0d Reset.
	f.Add([]byte{0x02, 3, 0, 0, 0, 5, 5, 0, 5, 0, 5, 0, 0x1a, 0, 0, 5, 0x19, 0, 0x0d, 0, 0, 15})
	f.Add([]byte{0x22, 4, 3, 0, 3, 0, 3, 1, 5, 1, 5, 1, 5, 1, 0x1a, 1, 0, 15, 0, 15, 0, 15})
	f.Add([]byte{0x01, 22, 3, 0, 5, 0, 5, 0, 0x0a, 0, 0x0e, 3, 0, 15, 0, 15, 0x0d, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		c, err := NewCoordinator(fuzzConfig(data[0], data[1]))
		if err != nil {
			t.Fatalf("config: %v", err)
		}
		h := &coordHarness{t: t, c: c, now: t0, savepoint: map[int64]bool{}, ended: map[int64]bool{}, writing: map[int64]bool{}}
		for i := 2; i+1 < len(data); i += 2 {
			h.step(data[i], data[i+1])
		}
	})
}

// pick chooses a pending checkpoint, or some ID when none is pending.
func (h *coordHarness) pick(arg byte) int64 {
	if ids := h.c.Pending(); len(ids) > 0 {
		return ids[int(arg)%len(ids)]
	}
	return int64(arg % 8)
}

// task chooses a task, or one the coordinator does not know.
func (h *coordHarness) task(op byte) TaskID {
	tasks := h.c.cfg.Tasks
	if i := int(op>>4) % (len(tasks) + 1); i < len(tasks) {
		return tasks[i]
	}
	return "ghost"
}

// missing chooses a task that has not acked checkpoint id yet, so that
// checkpoints complete often enough to test completion.
func (h *coordHarness) missing(id int64) TaskID {
	if p, err := h.c.find(id); err == nil {
		for _, task := range h.c.cfg.Tasks {
			if _, ok := p.acks[task]; !ok {
				return task
			}
		}
	}
	return h.c.cfg.Tasks[0]
}

func (h *coordHarness) step(op, arg byte) {
	c := h.c
	before, latest := c.Pending(), c.LatestCompleted()
	h.failedWrite = 0
	acts, err := h.event(op, arg)
	if err != nil && (acts != nil || !slices.Equal(before, c.Pending()) || latest != c.LatestCompleted()) {
		h.t.Fatalf("refused event (%v) changed state or returned %v", err, describe(acts))
	}
	h.check(before, acts)
}

// event runs the event op%16 says, weighted so that checkpoints complete
// often: acks from a task still missing and metadata writes are frequent,
// declines and resets rare.
func (h *coordHarness) event(op, arg byte) ([]Action, error) {
	c := h.c
	switch op % 16 {
	case 0, 1, 2:
		h.now = h.now.Add(time.Duration(arg%16) * time.Second)
		acts := c.Tick(h.now)
		h.checkTimeouts()
		return acts, nil
	case 3:
		tr, err := c.TriggerNow(h.now, arg&1 == 1)
		if err != nil {
			return nil, err
		}
		return []Action{tr}, nil
	case 4:
		return c.Ack(h.now, h.pick(arg), h.task(op), arg)
	case 5, 6, 7, 8:
		id := h.pick(arg)
		return c.Ack(h.now, id, h.missing(id), arg)
	case 9:
		reason := []error{nil, errors.New("declined"), ErrSubsumed}[int(op>>4)%3]
		return c.Decline(h.now, h.pick(arg), h.task(op), reason)
	case 10, 11, 12:
		return h.written(op, arg)
	case 13:
		h.failJobs = 0
		return c.Reset(h.now), nil
	}
	return c.Ack(h.now, int64(arg)-2, h.task(op), nil)
}

// written reports a metadata write, successful unless op says otherwise
// (one in four),
// and records a completed checkpoint as ended.
func (h *coordHarness) written(op, arg byte) ([]Action, error) {
	id := h.pick(arg)
	var werr error
	if op>>4%4 == 0 {
		werr = errors.New("disk")
	}
	if werr != nil {
		h.failedWrite = id
	}
	acts, err := h.c.MetadataWritten(h.now, id, werr)
	if err == nil && werr == nil {
		h.end(id)
	}
	return acts, err
}

func (h *coordHarness) end(id int64) {
	if h.ended[id] {
		h.t.Fatalf("checkpoint %d ended twice", id)
	}
	h.ended[id] = true
}

func (h *coordHarness) checkTimeouts() {
	for _, id := range h.c.Pending() {
		// A checkpoint being written waits for its write, however long.
		if s, _ := h.c.Stats(id); h.now.Sub(s.Triggered) >= h.c.cfg.Timeout && s.Status != StatusWriting {
			h.t.Fatalf("checkpoint %d pending past its timeout", id)
		}
	}
}

// check checks the actions of one event and the state after it.
func (h *coordHarness) check(before []int64, acts []Action) {
	for _, a := range acts {
		h.checkAction(before, a)
	}
	c := h.c
	if err := coordinatorInvariants(c); err != nil {
		h.t.Fatal(err)
	}
	if c.LatestCompleted() != h.lastNotify {
		h.t.Fatalf("LatestCompleted() = %d, last notified %d", c.LatestCompleted(), h.lastNotify)
	}
	running := 0
	for _, id := range c.Pending() {
		if h.ended[id] {
			h.t.Fatalf("ended checkpoint %d pending", id)
		}
		if !h.savepoint[id] {
			running++
		}
	}
	if running > c.cfg.MaxConcurrent {
		h.t.Fatalf("%d checkpoints pending, MaxConcurrent %d", running, c.cfg.MaxConcurrent)
	}
}

func (h *coordHarness) checkAction(before []int64, a Action) {
	switch a := a.(type) {
	case Trigger:
		if a.ID <= h.lastTrigger || h.failJobs > 0 {
			h.t.Fatalf("trigger %d after %d (failing %v)", a.ID, h.lastTrigger, h.failJobs > 0)
		}
		h.lastTrigger, h.savepoint[a.ID] = a.ID, a.Savepoint
	case WriteMetadata:
		if len(a.Handles) != len(h.c.cfg.Tasks) || !slices.Contains(before, a.ID) {
			h.t.Fatalf("write %d with %d handles", a.ID, len(a.Handles))
		}
		h.writing[a.ID] = true
	case NotifyComplete:
		if a.ID <= h.lastNotify {
			h.t.Fatalf("notify %d after %d", a.ID, h.lastNotify)
		}
		h.lastNotify = a.ID
	case LateComplete:
		if a.ID >= h.lastNotify || !h.writing[a.ID] || a.Savepoint != h.savepoint[a.ID] {
			h.t.Fatalf("late completion of %d (written %v), latest notified %d", a.ID, h.writing[a.ID], h.lastNotify)
		}
	case Abort:
		if !slices.Contains(before, a.ID) {
			h.t.Fatalf("abort %d, which was not pending", a.ID)
		}
		if h.writing[a.ID] && a.ID != h.failedWrite {
			h.t.Fatalf("abort %d (%v) while its metadata was being written", a.ID, a.Reason)
		}
		h.end(a.ID)
	case FailJob:
		if h.failJobs++; h.failJobs > 1 || !errors.Is(a.Reason, ErrTooManyFailures) {
			h.t.Fatalf("FailJob %d since Reset: %v", h.failJobs, a.Reason)
		}
	}
}
