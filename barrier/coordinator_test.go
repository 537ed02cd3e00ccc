package barrier

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// at returns the time sec seconds after t0.
func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

var testTasks = []TaskID{"src#0", "map#0", "sink#0"}

// newCoordinator returns a coordinator over testTasks with edit applied to
// the default config, and checks its invariants when the test ends.
func newCoordinator(t testing.TB, edit func(*Config)) *Coordinator {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Tasks, cfg.Sources = testTasks, testTasks[:1]
	if edit != nil {
		edit(&cfg)
	}
	c, err := NewCoordinator(cfg)
	if err != nil {
		t.Fatalf("NewCoordinator: %v", err)
	}
	t.Cleanup(func() {
		if err := coordinatorInvariants(c); err != nil {
			t.Error(err)
		}
	})
	return c
}

// coordinatorInvariants checks what must hold between any two events.
func coordinatorInvariants(c *Coordinator) error {
	ids := c.Pending()
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			return fmt.Errorf("pending IDs %v not strictly ascending", ids)
		}
	}
	if n := c.running(); n > c.cfg.MaxConcurrent {
		return fmt.Errorf("%d checkpoints pending, MaxConcurrent %d", n, c.cfg.MaxConcurrent)
	}
	for _, p := range c.pending {
		if p.id >= c.nextID || p.id < c.cfg.FirstID {
			return fmt.Errorf("pending ID %d outside [%d, %d)", p.id, c.cfg.FirstID, c.nextID)
		}
		if !p.savepoint && !p.writing && p.id < c.latest {
			return fmt.Errorf("checkpoint %d pending below completed %d", p.id, c.latest)
		}
	}
	return nil
}

// describe renders actions compactly, for comparing with a want list.
func describe(acts []Action) []string {
	var out []string
	for _, a := range acts {
		switch a := a.(type) {
		case Trigger:
			out = append(out, fmt.Sprintf("trigger %d%s", a.ID, spSuffix(a.Savepoint)))
		case WriteMetadata:
			out = append(out, fmt.Sprintf("write %d", a.ID))
		case NotifyComplete:
			out = append(out, fmt.Sprintf("notify %d", a.ID))
		case LateComplete:
			out = append(out, fmt.Sprintf("late %d%s", a.ID, spSuffix(a.Savepoint)))
		case Abort:
			out = append(out, fmt.Sprintf("abort %d %s", a.ID, reasonName(a.Reason)))
		case FailJob:
			out = append(out, "fail job")
		}
	}
	return out
}

func spSuffix(savepoint bool) string {
	if savepoint {
		return " savepoint"
	}
	return ""
}

func reasonName(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{{ErrTimeout, "timeout"}, {ErrDeclined, "declined"}, {ErrMetadataWrite, "metadata"},
		{ErrSubsumed, "subsumed"}, {ErrReset, "reset"}} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return fmt.Sprintf("other(%v)", err)
}

func wantActions(t testing.TB, what string, got []Action, want ...string) {
	t.Helper()
	if d := describe(got); !slices.Equal(d, want) {
		t.Errorf("%s: actions %q, want %q", what, d, want)
	}
}

// ackAll acks checkpoint id from every task and returns the last ack's
// actions.
func ackAll(t testing.TB, c *Coordinator, now time.Time, id int64) []Action {
	t.Helper()
	var acts []Action
	for _, task := range c.cfg.Tasks {
		var err error
		if acts, err = c.Ack(now, id, task, "state-"+string(task)); err != nil {
			t.Fatalf("Ack(%d, %s): %v", id, task, err)
		}
	}
	return acts
}

// complete acks id from every task and reports its metadata written.
func complete(t testing.TB, c *Coordinator, now time.Time, id int64) []Action {
	t.Helper()
	wantActions(t, fmt.Sprintf("last ack of %d", id), ackAll(t, c, now, id), fmt.Sprintf("write %d", id))
	acts, err := c.MetadataWritten(now, id, nil)
	if err != nil {
		t.Fatalf("MetadataWritten(%d): %v", id, err)
	}
	return acts
}

func mustTrigger(t testing.TB, c *Coordinator, now time.Time, savepoint bool) int64 {
	t.Helper()
	tr, err := c.TriggerNow(now, savepoint)
	if err != nil {
		t.Fatalf("TriggerNow(savepoint=%v): %v", savepoint, err)
	}
	return tr.ID
}

func TestDefaultConfig(t *testing.T) {
	got := DefaultConfig()
	want := Config{Timeout: 10 * time.Minute, MaxConcurrent: 1, History: 10, FirstID: 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("DefaultConfig() = %+v, want %+v", got, want)
	}
}

func TestNewCoordinator_invalidConfig(t *testing.T) {
	cases := []struct {
		field string
		edit  func(*Config)
	}{
		{"Interval", func(c *Config) { c.Interval = -time.Second }},
		{"Timeout", func(c *Config) { c.Timeout = 0 }},
		{"MaxConcurrent", func(c *Config) { c.MaxConcurrent = 0 }},
		{"MinPause", func(c *Config) { c.MinPause = -1 }},
		{"TolerableFailures", func(c *Config) { c.TolerableFailures = -1 }},
		{"History", func(c *Config) { c.History = -1 }},
		{"FirstID", func(c *Config) { c.FirstID = 0 }},
		{"Tasks", func(c *Config) { c.Tasks = nil }},
		{"Tasks", func(c *Config) { c.Tasks = []TaskID{"a", "a"} }},
		{"Tasks", func(c *Config) { c.Tasks = []TaskID{""} }},
		{"Sources", func(c *Config) { c.Sources = nil }},
		{"Sources", func(c *Config) { c.Sources = []TaskID{"elsewhere"} }},
		{"Sources", func(c *Config) { c.Sources = []TaskID{"src#0", "src#0"} }},
	}
	for _, tc := range cases {
		cfg := DefaultConfig()
		cfg.Tasks, cfg.Sources = testTasks, testTasks[:1]
		tc.edit(&cfg)
		_, err := NewCoordinator(cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(fmt.Sprint(err), tc.field) {
			t.Errorf("%s: NewCoordinator = %v, want ErrConfig naming %s", tc.field, err, tc.field)
		}
	}
}

// step is one event of a scripted coordinator test and the actions it
// must return.
type step struct {
	sec  int
	op   string // "tick", "complete" (ack all and write), "fail" (decline), "suspend", "resume"
	id   int64
	want []string
}

func runSteps(t *testing.T, c *Coordinator, steps []step) {
	t.Helper()
	for i, s := range steps {
		var acts []Action
		switch s.op {
		case "tick":
			acts = c.Tick(at(s.sec))
		case "complete":
			acts = complete(t, c, at(s.sec), s.id)
		case "fail":
			var err error
			if acts, err = c.Decline(at(s.sec), s.id, "map#0", errors.New("boom")); err != nil {
				t.Fatalf("step %d: Decline: %v", i, err)
			}
		case "suspend":
			c.Suspend()
		case "resume":
			c.Resume(at(s.sec))
		default:
			t.Fatalf("step %d: unknown op %q", i, s.op)
		}
		wantActions(t, fmt.Sprintf("step %d: %s %d at %ds", i, s.op, s.id, s.sec), acts, s.want...)
	}
}

func TestCoordinator_Tick_periodic(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Config)
		steps []step
	}{
		{"interval, one at a time", func(c *Config) { c.Interval = 10 * time.Second }, []step{
			{0, "tick", 0, nil}, // starts the clock
			{5, "tick", 0, nil},
			{10, "tick", 0, []string{"trigger 1"}},
			{15, "tick", 0, nil},
			{20, "tick", 0, nil}, // due, but 1 is pending
			{22, "complete", 1, []string{"notify 1"}},
			{22, "tick", 0, []string{"trigger 2"}}, // overdue: at once
			{31, "complete", 2, []string{"notify 2"}},
			{31, "tick", 0, nil}, // due at 32, no catch-up burst
			{32, "tick", 0, []string{"trigger 3"}},
		}},
		{"min pause after completion", func(c *Config) { c.Interval, c.MinPause = 10*time.Second, 5*time.Second }, []step{
			{0, "tick", 0, nil},
			{10, "tick", 0, []string{"trigger 1"}},
			{18, "complete", 1, []string{"notify 1"}},
			{20, "tick", 0, nil}, // due, but the pause lasts until 23
			{22, "tick", 0, nil},
			{23, "tick", 0, []string{"trigger 2"}},
			{33, "tick", 0, nil}, // 2 pending
		}},
		{"min pause after a failure", func(c *Config) {
			c.Interval, c.MinPause, c.TolerableFailures = 10*time.Second, 5*time.Second, 5
		}, []step{
			{0, "tick", 0, nil},
			{10, "tick", 0, []string{"trigger 1"}},
			{19, "fail", 1, []string{"abort 1 declined"}},
			{20, "tick", 0, nil},
			{24, "tick", 0, []string{"trigger 2"}},
		}},
		{"max concurrent 2", func(c *Config) { c.Interval, c.MaxConcurrent = 10*time.Second, 2 }, []step{
			{0, "tick", 0, nil},
			{10, "tick", 0, []string{"trigger 1"}},
			{20, "tick", 0, []string{"trigger 2"}},
			{30, "tick", 0, nil},
			{31, "complete", 1, []string{"notify 1"}},
			{31, "tick", 0, []string{"trigger 3"}},
			{45, "tick", 0, nil},
		}},
		{"max concurrent 2 with min pause is one at a time", func(c *Config) {
			c.Interval, c.MaxConcurrent, c.MinPause = 10*time.Second, 2, time.Second
		}, []step{
			{0, "tick", 0, nil},
			{10, "tick", 0, []string{"trigger 1"}},
			{20, "tick", 0, nil},
			{25, "complete", 1, []string{"notify 1"}},
			{26, "tick", 0, []string{"trigger 2"}},
		}},
		// A stop with savepoint suspends the periodic checkpoints (none may
		// follow the savepoint); if the savepoint fails they resume, the
		// next one Interval later. Timeouts still apply meanwhile.
		{"suspended, then resumed", func(c *Config) { c.Interval = 10 * time.Second }, []step{
			{0, "tick", 0, nil},
			{10, "tick", 0, []string{"trigger 1"}},
			{12, "complete", 1, []string{"notify 1"}},
			{15, "suspend", 0, nil},
			{20, "tick", 0, nil}, // due, but suspended
			{40, "tick", 0, nil},
			{41, "resume", 0, nil},
			{45, "tick", 0, nil},
			{51, "tick", 0, []string{"trigger 2"}},
		}},
		{"suspended, timeouts still expire", func(c *Config) {
			c.Interval, c.Timeout, c.TolerableFailures = 10*time.Second, 30*time.Second, 5
		}, []step{
			{0, "tick", 0, nil},
			{10, "tick", 0, []string{"trigger 1"}},
			{11, "suspend", 0, nil},
			{40, "tick", 0, []string{"abort 1 timeout"}},
			{60, "tick", 0, nil},
			{61, "resume", 0, nil},
			{71, "tick", 0, []string{"trigger 2"}},
		}},
		{"interval 0 is off", nil, []step{
			{0, "tick", 0, nil},
			{600, "tick", 0, nil},
			{6000, "tick", 0, nil},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runSteps(t, newCoordinator(t, tc.edit), tc.steps)
		})
	}
}

func TestCoordinator_Tick_timeout(t *testing.T) {
	for _, tolerable := range []int{0, 1, 2} {
		t.Run(fmt.Sprintf("tolerable %d", tolerable), func(t *testing.T) {
			c := newCoordinator(t, func(c *Config) {
				c.Interval, c.Timeout, c.TolerableFailures = 10*time.Second, time.Minute, tolerable
			})
			c.Tick(at(0))
			wantActions(t, "trigger", c.Tick(at(10)), "trigger 1")
			now := 10
			for i := 1; i <= tolerable+1; i++ {
				wantActions(t, "before the timeout", c.Tick(at(now+59)))
				now += 60
				// The tick that frees the slot triggers the overdue next one,
				// unless the job is failing.
				want := []string{fmt.Sprintf("abort %d timeout", i), fmt.Sprintf("trigger %d", i+1)}
				if i > tolerable {
					want[1] = "fail job"
				}
				wantActions(t, "timeout", c.Tick(at(now)), want...)
				if got := c.ConsecutiveFailures(); got != i {
					t.Errorf("ConsecutiveFailures() = %d after %d timeouts", got, i)
				}
			}
			if !c.Failing() {
				t.Fatal("not failing after FailJob")
			}
			wantActions(t, "tick while failing", c.Tick(at(now+100)))
			if _, err := c.TriggerNow(at(now+100), true); !errors.Is(err, ErrJobFailing) {
				t.Errorf("TriggerNow while failing: %v, want ErrJobFailing", err)
			}
			c.Reset(at(now + 100))
			if c.Failing() || c.ConsecutiveFailures() != 0 {
				t.Errorf("after Reset: failing %v, failures %d", c.Failing(), c.ConsecutiveFailures())
			}
			wantActions(t, "after Reset", c.Tick(at(now+110)), fmt.Sprintf("trigger %d", tolerable+2))
		})
	}
}

// Once its metadata write has started, a checkpoint ends only by the
// write's outcome (Flink's rule: durable metadata is a complete
// checkpoint). Neither its timeout, nor a decline, nor a newer
// completion, nor a reset may abort it: the runtime would discard state
// that the metadata being written lists.
func TestCoordinator_writeDecidesTheOutcome(t *testing.T) {
	cases := []struct {
		name   string
		during func(c *Coordinator, id int64) []Action // events while the write runs
		want   []string                                // what they return
		err    error                                   // the write's outcome
		after  []string                                // what MetadataWritten returns
	}{
		{"timeout", func(c *Coordinator, id int64) []Action { return c.Tick(at(60)) }, nil, nil, []string{"notify 1"}},
		{"timeout, then the write fails", func(c *Coordinator, id int64) []Action { return c.Tick(at(60)) },
			nil, errors.New("disk"), []string{"abort 1 metadata"}},
		{"reset", func(c *Coordinator, id int64) []Action { return c.Reset(at(2)) }, nil, nil, []string{"notify 1"}},
		{"decline", func(c *Coordinator, id int64) []Action {
			acts, err := c.Decline(at(2), id, "map#0", errors.New("late"))
			if !errors.Is(err, ErrMetadataWriting) {
				t.Errorf("Decline while writing: %v, want ErrMetadataWriting", err)
			}
			return acts
		}, nil, nil, []string{"notify 1"}},
		{"a newer checkpoint completes", func(c *Coordinator, id int64) []Action {
			return complete(t, c, at(2), mustTrigger(t, c, at(2), false))
		}, []string{"notify 2"}, nil, []string{"late 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCoordinator(t, func(c *Config) { c.Timeout, c.MaxConcurrent, c.TolerableFailures = time.Minute, 2, 1 })
			id := mustTrigger(t, c, at(0), false)
			ackAll(t, c, at(1), id)
			wantActions(t, "while writing", tc.during(c, id), tc.want...)
			if !slices.Contains(c.Pending(), id) {
				t.Fatalf("pending %v: checkpoint %d ended while its metadata was being written", c.Pending(), id)
			}
			acts, err := c.MetadataWritten(at(61), id, tc.err)
			if err != nil {
				t.Fatal(err)
			}
			wantActions(t, "written", acts, tc.after...)
		})
	}
}

func TestCoordinator_Decline(t *testing.T) {
	cases := []struct {
		name      string
		tolerable int
		reason    error
		want      []string
		failures  int
	}{
		{"fails the job by default", 0, errors.New("disk full"), []string{"abort 1 declined", "fail job"}, 1},
		{"tolerated", 1, errors.New("disk full"), []string{"abort 1 declined"}, 1},
		{"without reason", 1, nil, []string{"abort 1 declined"}, 1},
		{"subsumed by a newer barrier is no failure", 0, fmt.Errorf("overtaken: %w", ErrSubsumed),
			[]string{"abort 1 declined"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCoordinator(t, func(c *Config) { c.TolerableFailures = tc.tolerable })
			id := mustTrigger(t, c, at(0), false)
			if _, err := c.Ack(at(1), id, "src#0", "h"); err != nil {
				t.Fatal(err)
			}
			acts, err := c.Decline(at(2), id, "map#0", tc.reason)
			if err != nil {
				t.Fatal(err)
			}
			wantActions(t, "decline", acts, tc.want...)
			abort := acts[0].(Abort)
			if tc.reason != nil && !errors.Is(abort.Reason, tc.reason) {
				t.Errorf("abort reason %v does not wrap %v", abort.Reason, tc.reason)
			}
			if abort.Handles["src#0"] != "h" || len(abort.Handles) != 1 {
				t.Errorf("abort handles %v, want the one ack to discard", abort.Handles)
			}
			if got := c.ConsecutiveFailures(); got != tc.failures {
				t.Errorf("ConsecutiveFailures() = %d, want %d", got, tc.failures)
			}
			if _, err := c.Ack(at(3), id, "sink#0", "h"); !errors.Is(err, ErrCheckpointEnded) {
				t.Errorf("ack after decline: %v, want ErrCheckpointEnded", err)
			}
		})
	}
}

func TestCoordinator_MetadataWritten_completesOnlyOnSuccess(t *testing.T) {
	c := newCoordinator(t, nil)
	id := mustTrigger(t, c, at(0), false)
	if _, err := c.MetadataWritten(at(1), id, nil); !errors.Is(err, ErrNotAcknowledged) {
		t.Errorf("MetadataWritten before the acks: %v, want ErrNotAcknowledged", err)
	}
	acts := ackAll(t, c, at(2), id)
	wantActions(t, "all acked", acts, "write 1")
	if h := acts[0].(WriteMetadata).Handles; len(h) != 3 || h["sink#0"] != "state-sink#0" {
		t.Errorf("WriteMetadata handles %v", h)
	}
	if c.LatestCompleted() != 0 || !slices.Equal(c.Pending(), []int64{id}) {
		t.Fatalf("before the write: latest %d, pending %v; want 0, [1]", c.LatestCompleted(), c.Pending())
	}
	if s, _ := c.Stats(id); s.Status != StatusWriting {
		t.Errorf("status %v, want writing", s.Status)
	}
	acts, err := c.MetadataWritten(at(3), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantActions(t, "written", acts, "notify 1")
	if c.LatestCompleted() != id || len(c.Pending()) != 0 {
		t.Errorf("after the write: latest %d, pending %v", c.LatestCompleted(), c.Pending())
	}
	if _, err := c.MetadataWritten(at(4), id, nil); !errors.Is(err, ErrCheckpointEnded) {
		t.Errorf("second MetadataWritten: %v, want ErrCheckpointEnded", err)
	}
}

func TestCoordinator_MetadataWritten_error(t *testing.T) {
	for _, tolerable := range []int{0, 1} {
		c := newCoordinator(t, func(c *Config) { c.TolerableFailures = tolerable })
		id := mustTrigger(t, c, at(0), false)
		ackAll(t, c, at(1), id)
		ioErr := errors.New("no space left on device")
		acts, err := c.MetadataWritten(at(2), id, ioErr)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"abort 1 metadata"}
		if tolerable == 0 {
			want = append(want, "fail job")
		}
		wantActions(t, fmt.Sprintf("tolerable %d", tolerable), acts, want...)
		if !errors.Is(acts[0].(Abort).Reason, ioErr) || len(acts[0].(Abort).Handles) != 3 {
			t.Errorf("abort %+v: want the write error and every handle", acts[0])
		}
		if tolerable == 0 && !errors.Is(acts[1].(FailJob).Reason, ErrTooManyFailures) {
			t.Errorf("FailJob reason %v", acts[1].(FailJob).Reason)
		}
		if c.LatestCompleted() != 0 || c.ConsecutiveFailures() != 1 {
			t.Errorf("latest %d, failures %d; want 0, 1", c.LatestCompleted(), c.ConsecutiveFailures())
		}
	}
}

func TestCoordinator_subsumption(t *testing.T) {
	c := newCoordinator(t, func(c *Config) { c.MaxConcurrent, c.TolerableFailures = 3, 5 })
	wantActions(t, "failed first", mustDecline(t, c, mustTrigger(t, c, at(0), false)), "abort 1 declined")
	for range 3 {
		mustTrigger(t, c, at(1), false) // 2, 3, 4
	}
	if _, err := c.Ack(at(2), 2, "src#0", "h2"); err != nil {
		t.Fatal(err)
	}
	acts := complete(t, c, at(3), 3)
	wantActions(t, "complete 3", acts, "notify 3", "abort 2 subsumed")
	if h := acts[1].(Abort).Handles; h["src#0"] != "h2" {
		t.Errorf("subsumed abort handles %v, want 2's ack to discard", h)
	}
	if !slices.Equal(c.Pending(), []int64{4}) || c.ConsecutiveFailures() != 0 || c.LatestCompleted() != 3 {
		t.Errorf("pending %v, failures %d, latest %d; want [4], 0, 3",
			c.Pending(), c.ConsecutiveFailures(), c.LatestCompleted())
	}
	if _, err := c.Ack(at(4), 2, "map#0", "late"); !errors.Is(err, ErrCheckpointEnded) {
		t.Errorf("ack of subsumed 2: %v, want ErrCheckpointEnded", err)
	}
}

func mustDecline(t testing.TB, c *Coordinator, id int64) []Action {
	t.Helper()
	acts, err := c.Decline(at(0), id, "map#0", errors.New("boom"))
	if err != nil {
		t.Fatal(err)
	}
	return acts
}

// twoPhaseSink models a sink that keeps each epoch's output pending and
// commits, on NotifyComplete(n), every pending epoch ≤ n (CHECKLISTS,
// "Checkpoints and recovery" item 5).
type twoPhaseSink struct {
	pending   map[int64]string // epoch → output, closed by barrier epoch
	committed []string
}

func (s *twoPhaseSink) notify(n int64) {
	for _, e := range slices.Sorted(maps.Keys(s.pending)) {
		if e <= n {
			s.committed = append(s.committed, s.pending[e])
			delete(s.pending, e)
		}
	}
}

func TestCoordinator_notifyMaySkip_sinkCommitsUpTo(t *testing.T) {
	c := newCoordinator(t, func(c *Config) { c.MaxConcurrent = 2 })
	sink := &twoPhaseSink{pending: map[int64]string{}}
	var notified []int64
	apply := func(acts []Action) {
		for _, a := range acts {
			if n, ok := a.(NotifyComplete); ok {
				notified = append(notified, n.ID)
				sink.notify(n.ID)
			}
		}
	}
	one, two := mustTrigger(t, c, at(0), false), mustTrigger(t, c, at(1), false)
	sink.pending[one], sink.pending[two] = "epoch 1", "epoch 2"
	ackAll(t, c, at(2), one) // 1's metadata write is in flight...
	apply(complete(t, c, at(3), two))
	acts, err := c.MetadataWritten(at(4), one, nil) // durable, hence complete, but late
	if err != nil {
		t.Fatal(err)
	}
	wantActions(t, "1's write after 2 completed", acts, "late 1")
	apply(acts)
	three := mustTrigger(t, c, at(5), false)
	sink.pending[three] = "epoch 3"
	apply(complete(t, c, at(6), three))
	if !slices.Equal(notified, []int64{2, 3}) {
		t.Errorf("notified %v, want [2 3]: 1 skipped, subsumed by 2", notified)
	}
	if want := []string{"epoch 1", "epoch 2", "epoch 3"}; !slices.Equal(sink.committed, want) {
		t.Errorf("sink committed %q, want %q", sink.committed, want)
	}
}

func TestCoordinator_TriggerNow(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Config)
		first bool  // savepoint?
		then  bool  // savepoint?
		err   error // of the second trigger
	}{
		{"second checkpoint over MaxConcurrent", nil, false, false, ErrMaxConcurrent},
		{"savepoint over MaxConcurrent", nil, false, true, nil},
		{"checkpoint next to a savepoint", nil, true, false, nil},
		{"checkpoint under MaxConcurrent 2", func(c *Config) { c.MaxConcurrent = 2 }, false, false, nil},
		{"checkpoint with MinPause while pending", func(c *Config) { c.MaxConcurrent, c.MinPause = 2, time.Second },
			false, false, ErrMinPause},
		{"savepoint with MinPause while pending", func(c *Config) { c.MinPause = time.Second }, false, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCoordinator(t, tc.edit)
			mustTrigger(t, c, at(0), tc.first)
			tr, err := c.TriggerNow(at(1), tc.then)
			if !errors.Is(err, tc.err) {
				t.Fatalf("second TriggerNow: %v, want %v", err, tc.err)
			}
			if err == nil && (tr.ID != 2 || tr.Savepoint != tc.then || !slices.Equal(tr.Sources, []TaskID{"src#0"})) {
				t.Errorf("second trigger %+v", tr)
			}
		})
	}
}

func TestCoordinator_TriggerNow_minPauseAfterEnd(t *testing.T) {
	c := newCoordinator(t, func(c *Config) { c.MinPause = 10 * time.Second })
	complete(t, c, at(5), mustTrigger(t, c, at(0), false))
	if _, err := c.TriggerNow(at(14), false); !errors.Is(err, ErrMinPause) {
		t.Errorf("TriggerNow 9 s after the end: %v, want ErrMinPause", err)
	}
	mustTrigger(t, c, at(15), false)
}

func TestCoordinator_savepoint(t *testing.T) {
	c := newCoordinator(t, nil)
	sp := mustTrigger(t, c, at(0), true)
	cp := mustTrigger(t, c, at(1), false)
	wantActions(t, "checkpoint completes first", complete(t, c, at(2), cp), "notify 2")
	if !slices.Equal(c.Pending(), []int64{sp}) {
		t.Fatalf("pending %v: the savepoint must not be subsumed", c.Pending())
	}
	// It is complete and restorable: the runtime must hear of it (to give
	// its caller the path), but no subtask is told, as they all heard of
	// a newer completion.
	wantActions(t, "savepoint completes after a newer checkpoint", complete(t, c, at(3), sp), "late 1 savepoint")
	if s, _ := c.Stats(sp); s.Status != StatusCompleted || !s.Savepoint || c.LatestCompleted() != cp {
		t.Errorf("savepoint stats %+v, latest %d", s, c.LatestCompleted())
	}

	// A failed savepoint is reported to whoever asked; the job is fine.
	sp = mustTrigger(t, c, at(4), true)
	acts, err := c.Decline(at(5), sp, "map#0", errors.New("no"))
	if err != nil {
		t.Fatal(err)
	}
	wantActions(t, "savepoint declined", acts, "abort 3 declined")
	if !acts[0].(Abort).Savepoint || c.ConsecutiveFailures() != 0 {
		t.Errorf("abort %+v, failures %d", acts[0], c.ConsecutiveFailures())
	}

	// A savepoint newer than every checkpoint subsumes them like one.
	cp = mustTrigger(t, c, at(6), false)
	sp = mustTrigger(t, c, at(6), true)
	wantActions(t, "newest savepoint", complete(t, c, at(7), sp), "notify 5", "abort 4 subsumed")
}

func TestCoordinator_savepointOutsideFailureTally(t *testing.T) {
	c := newCoordinator(t, func(c *Config) { c.TolerableFailures = 5 })
	mustDecline(t, c, mustTrigger(t, c, at(0), false))
	complete(t, c, at(1), mustTrigger(t, c, at(1), true))
	if got := c.ConsecutiveFailures(); got != 1 {
		t.Errorf("ConsecutiveFailures() = %d after a completed savepoint, want 1: savepoints neither count nor reset", got)
	}
	complete(t, c, at(2), mustTrigger(t, c, at(2), false))
	if got := c.ConsecutiveFailures(); got != 0 {
		t.Errorf("ConsecutiveFailures() = %d after a completed checkpoint", got)
	}
}

func TestCoordinator_Reset(t *testing.T) {
	c := newCoordinator(t, func(c *Config) { c.Interval, c.MaxConcurrent, c.TolerableFailures = 10*time.Second, 2, 3 })
	c.Tick(at(0))
	wantActions(t, "tick", c.Tick(at(10)), "trigger 1")
	mustDecline(t, c, 1)
	c.Tick(at(20))
	mustTrigger(t, c, at(21), true)
	c.Ack(at(22), 2, "src#0", "h")
	acts := c.Reset(at(25))
	wantActions(t, "reset", acts, "abort 2 reset", "abort 3 reset")
	if acts[0].(Abort).Handles["src#0"] != "h" {
		t.Errorf("reset abort handles %v", acts[0].(Abort).Handles)
	}
	if len(c.Pending()) != 0 || c.ConsecutiveFailures() != 1 {
		t.Errorf("after reset: pending %v, failures %d; want none, 1 (not a FailJob restart)",
			c.Pending(), c.ConsecutiveFailures())
	}
	if _, err := c.Ack(at(26), 2, "map#0", "late"); !errors.Is(err, ErrCheckpointEnded) {
		t.Errorf("ack of a reset checkpoint: %v, want ErrCheckpointEnded", err)
	}
	wantActions(t, "clock restarted", c.Tick(at(34)))
	wantActions(t, "IDs keep increasing", c.Tick(at(35)), "trigger 4")
}

func TestCoordinator_Ack_refused(t *testing.T) {
	c := newCoordinator(t, func(c *Config) { c.MaxConcurrent, c.TolerableFailures = 5, 5 })
	done := mustTrigger(t, c, at(0), false)
	complete(t, c, at(1), done)
	aborted := mustTrigger(t, c, at(2), false)
	mustDecline(t, c, aborted)
	open := mustTrigger(t, c, at(3), false)
	if _, err := c.Ack(at(4), open, "src#0", "first"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		id   int64
		task TaskID
		want error
	}{
		{"unknown task", open, "ghost#9", ErrUnknownTask},
		{"never triggered", 99, "map#0", ErrUnknownCheckpoint},
		{"ID 0", 0, "map#0", ErrUnknownCheckpoint},
		{"duplicate", open, "src#0", ErrDuplicateAck},
		{"completed", done, "map#0", ErrCheckpointEnded},
		{"aborted", aborted, "map#0", ErrCheckpointEnded},
	}
	for _, tc := range cases {
		acts, err := c.Ack(at(5), tc.id, tc.task, "second")
		if !errors.Is(err, tc.want) || acts != nil {
			t.Errorf("%s: Ack = %v, %v; want %v and no action", tc.name, describe(acts), err, tc.want)
		}
		if tc.want == ErrDuplicateAck {
			continue // a decline after an ack is legitimate
		}
		if _, err := c.Decline(at(5), tc.id, tc.task, nil); !errors.Is(err, tc.want) {
			t.Errorf("%s: Decline = %v, want %v", tc.name, err, tc.want)
		}
	}
	if s, _ := c.Stats(open); s.Acks != 1 {
		t.Errorf("refused acks counted: %d acks", s.Acks)
	}
	acts := ackRest(t, c, open)
	if h := acts[0].(WriteMetadata).Handles; h["src#0"] != "first" {
		t.Errorf("handles %v: the duplicate replaced the first ack", h)
	}
}

// ackRest acks id from the tasks other than the source.
func ackRest(t testing.TB, c *Coordinator, id int64) []Action {
	t.Helper()
	c.Ack(at(6), id, "map#0", "m")
	acts, err := c.Ack(at(6), id, "sink#0", "s")
	if err != nil {
		t.Fatal(err)
	}
	return acts
}

func TestCoordinator_Stats(t *testing.T) {
	c := newCoordinator(t, func(c *Config) { c.History = 2 })
	for i := range 3 {
		id := mustTrigger(t, c, at(10*i), false)
		complete(t, c, at(10*i+4), id)
	}
	id := mustTrigger(t, c, at(40), false)
	c.Ack(at(41), id, "map#0", nil)
	got, ok := c.Stats(id)
	want := Stats{ID: 4, Status: StatusPending, Triggered: at(40), Acks: 1, Tasks: 3, LastAck: at(41)}
	if !ok || got != want {
		t.Errorf("pending Stats = %+v, want %+v", got, want)
	}
	got, ok = c.Stats(3)
	want = Stats{ID: 3, Status: StatusCompleted, Triggered: at(20), Acks: 3, Tasks: 3, LastAck: at(24),
		Ended: at(24), Duration: 4 * time.Second}
	if !ok || got != want {
		t.Errorf("completed Stats = %+v, want %+v", got, want)
	}
	if _, ok := c.Stats(1); ok {
		t.Error("Stats(1) kept beyond History")
	}
	if h := c.History(); len(h) != 2 || h[0].ID != 2 || h[1].ID != 3 {
		t.Errorf("History() = %+v, want 2 and 3", h)
	}
}

func TestCoordinator_FirstID(t *testing.T) {
	c := newCoordinator(t, func(c *Config) { c.FirstID = 42 })
	if id := mustTrigger(t, c, at(0), false); id != 42 {
		t.Errorf("first ID %d, want 42", id)
	}
	if _, err := c.Ack(at(1), 41, "map#0", nil); !errors.Is(err, ErrUnknownCheckpoint) {
		t.Errorf("ack of 41: %v, want ErrUnknownCheckpoint", err)
	}
}
