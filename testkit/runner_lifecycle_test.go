package testkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/actors"
	"github.com/troupe-dev/troupe/operators"
	"github.com/troupe-dev/troupe/persistence"
)

// gatedReader emits what Generate would for item (subtask i of p: the
// sequence numbers i, i+p, …, below n) and ends only once a checkpoint of
// its attempt has completed (with checkpoints on). So every attempt that
// reaches its end has completed a checkpoint, and the first completion
// notice a subtask gets in an attempt is never the job's final commit: a
// test that fails the first notice knows which one it fails.
type gatedReader struct {
	subtask         int
	next, step, end int64
	completed       bool // a checkpoint completed, or checkpoints are off
}

// gatedPosition is a gatedReader's state: the next sequence number.
type gatedPosition struct {
	Subtask int   `json:"subtask"`
	Next    int64 `json:"next"`
}

func (r *gatedReader) Poll(out operators.Collector[item], max int) (operators.Poll, error) {
	for range max {
		if r.next >= r.end {
			break
		}
		out.Collect(item{Seq: r.next, Key: int(r.next % 7)}, operators.NoTimestamp)
		r.next += r.step
	}
	switch {
	case r.next < r.end:
		return operators.Poll{Status: operators.PollMore}, nil
	case !r.completed:
		return operators.Poll{Status: operators.PollWait, Until: time.Now().Add(time.Millisecond)}, nil
	}
	return operators.Poll{Status: operators.PollDone}, nil
}

func (r *gatedReader) SnapshotState(int64) (*operators.OperatorState, error) {
	b, err := json.Marshal(gatedPosition{Subtask: r.subtask, Next: r.next})
	return &operators.OperatorState{Operator: &persistence.OperatorSnapshot{Lists: map[string][][]byte{"next": {b}}}}, err
}

func (r *gatedReader) RestoreState(parts []*operators.OperatorState) error {
	for _, p := range parts {
		for _, b := range p.Operator.Lists["next"] {
			var pos gatedPosition
			if err := json.Unmarshal(b, &pos); err != nil {
				return err
			}
			if pos.Subtask == r.subtask {
				r.next = pos.Next
				return nil
			}
		}
	}
	return fmt.Errorf("no position for subtask %d", r.subtask)
}

func (r *gatedReader) NotifyCheckpointComplete(int64) error {
	r.completed = true
	return nil
}

func (r *gatedReader) Close() error { return nil }

// lifecycleItems is the pipeline of the lifecycle tests: gated source
// "gen" → map "fragile" → key by Key → keyed pass-through "pass" →
// collecting sink "sink", all with parallelism 2, in two chained vertices:
// gen → fragile and pass → sink. Records of one key from one source
// subtask keep their order.
func lifecycleItems(name string, n int64) (*operators.Pipeline, *operators.Collected[item]) {
	p := operators.NewPipeline(name).SetParallelism(2)
	src := operators.FromReader(p, "gated", func(tc *operators.TaskContext) (operators.Reader[item], error) {
		return &gatedReader{subtask: tc.Subtask, next: int64(tc.Subtask), step: int64(tc.Parallelism), end: n,
			completed: !tc.Checkpointing}, nil
	}, operators.RateLimit(20000)).Name("gen")
	m := operators.Map(src, func(it item) item { return it }).Name("fragile")
	ks := operators.KeyBy(m, func(it item) int { return it.Key })
	pass := operators.Reduce(ks, func(_, it item) item { return it }).Name("pass")
	return p, operators.Collect(pass).Name("sink")
}

// lifecycleHook places a fault in one lifecycle hook of operator op (with
// the given options), and any fault it needs first to reach the hook.
type lifecycleHook struct {
	name  string
	point operators.FaultPoint
	place func(f *Faults, op string, opts ...FaultOption)
}

var lifecycleHooks = []lifecycleHook{
	{"open", operators.FaultOpen, func(f *Faults, op string, o ...FaultOption) { f.FailAtOpen(op, o...) }},
	{"snapshot", operators.FaultSnapshot, func(f *Faults, op string, o ...FaultOption) { f.FailAtSnapshot(op, o...) }},
	{"restore", operators.FaultRestore, func(f *Faults, op string, o ...FaultOption) {
		f.FailAtNotifyComplete("fragile") // a failure after a complete checkpoint: attempt 1 restores
		f.FailAtRestore(op, o...)
	}},
	{"notify-complete", operators.FaultNotifyComplete, func(f *Faults, op string, o ...FaultOption) { f.FailAtNotifyComplete(op, o...) }},
	{"end-input", operators.FaultEndInput, func(f *Faults, op string, o ...FaultOption) { f.FailAtEndInput(op, o...) }},
	{"close", operators.FaultClose, func(f *Faults, op string, o ...FaultOption) { f.FailAtClose(op, o...) }},
}

func hookNamed(name string) lifecycleHook {
	for _, h := range lifecycleHooks {
		if h.name == name {
			return h
		}
	}
	panic("no lifecycle hook " + name)
}

// faultModes are the two ways a hook fails.
var faultModes = []struct {
	name string
	opts []FaultOption
}{{"panic", nil}, {"error", []FaultOption{AsError()}}}

// lifecycleTargets are the operators the lifecycle tests fail: the source
// and the two-phase-commit sink.
var lifecycleTargets = []string{"gen", "sink"}

const lifecycleRecords = 2000

// runLifecycle runs lifecycleItems with the faults place sets, checks that
// the job ended in time, that the engine then closed in time and that no
// goroutine was left behind. It returns the result, the committed items
// and the engine's log.
func runLifecycle(t *testing.T, place func(f *Faults), opts ...RunnerOption) (*RunResult, []item, string) {
	t.Helper()
	before, _ := goroutineStacks()
	r := NewRunner(t, append([]RunnerOption{WithRunTimeout(5 * time.Second)}, opts...)...)
	place(r.Faults())
	p, out := lifecycleItems(strings.ReplaceAll(t.Name(), "/", "-"), lifecycleRecords)
	res := r.Run(p) // fails the test if the job does not end in time
	if !r.closeWithin(r.timeout) {
		t.Fatalf("the engine did not close within %v after %v", r.timeout, res)
	}
	if leaked := waitLeaks(before, Dilated(defaultShutdownTimeout)); len(leaked) > 0 {
		t.Fatalf("%d goroutines leaked after %v:\n\n%s", len(leaked), res, strings.Join(leaked, "\n\n"))
	}
	return res, out.Values(), r.log.String()
}

// logged is s as the engine's text log shows it in a quoted value.
func logged(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// firedAt returns the faults fired at the point in operator op.
func firedAt(f *Faults, point operators.FaultPoint, op string) []InjectedFault {
	var at []InjectedFault
	for _, fault := range f.Fired() {
		if fault.Point == point && fault.Operator == op {
			at = append(at, fault)
		}
	}
	return at
}

// A fault in any lifecycle hook, a panic or an error, with checkpoints: the
// job restarts from its latest checkpoint and every record is committed
// exactly once; nothing hangs, nothing leaks. A failed Close is logged; at
// the job's end (nothing else failed) it does not fail the job.
func TestRunner_withCheckpoints_faultInEveryLifecycleHook(t *testing.T) {
	cases := []struct {
		hook     lifecycleHook
		when     string          // names the case when the hook has two
		also     func(f *Faults) // another fault, to reach the hook
		restarts int
	}{
		{hook: hookNamed("open"), restarts: 1},
		{hook: hookNamed("snapshot"), restarts: 1},
		{hook: hookNamed("restore"), restarts: 2}, // its own fault and the one before it
		{hook: hookNamed("notify-complete"), restarts: 1},
		{hook: hookNamed("end-input"), restarts: 1},
		{hook: hookNamed("close"), when: "at-the-end", restarts: 0},
		{hook: hookNamed("close"), when: "on-restart", also: func(f *Faults) { f.FailAt("fragile", AtRecord(100)) }, restarts: 1},
	}
	for _, tc := range cases {
		for _, op := range lifecycleTargets {
			for _, mode := range faultModes {
				name := fmt.Sprintf("%s/%s/%s", tc.hook.name, op, mode.name)
				if tc.when != "" {
					name += "/" + tc.when
				}
				t.Run(name, func(t *testing.T) {
					var faults *Faults
					res, got, log := runLifecycle(t, func(f *Faults) {
						faults = f
						if tc.also != nil {
							tc.also(f)
						}
						tc.hook.place(f, op, mode.opts...)
					}, WithCheckpoints(5*time.Millisecond))
					fired := firedAt(faults, tc.hook.point, op)
					if len(fired) != 1 || fired[0].AsError != (mode.name == "error") {
						t.Fatalf("%v; faults fired %+v, want one %s at %s of %s", res, faults.Fired(), mode.name, tc.hook.name, op)
					}
					if res.State != actors.JobFinished || res.Restarts != tc.restarts {
						t.Fatalf("%v; want finished after %d restarts (faults %+v)", res, tc.restarts, faults.Fired())
					}
					AssertExactlyOnce(t, sentItems(lifecycleRecords), got, itemID, InOrderBy(byKey))
					if tc.hook.point == operators.FaultClose && !strings.Contains(log, logged(fired[0].Error())) {
						t.Fatalf("the failed close is not in the engine's log:\n%s", log)
					}
				})
			}
		}
	}
}

// A fault in any lifecycle hook in every attempt: once the restart
// strategy gives up, the job fails with an error that names the operator
// and the subtask, and holds the fault. Without checkpoints a failed Close
// (when a subtask finishes) is such a failure too.
func TestRunner_faultInEveryLifecycleHook_failsNamingOperatorAndSubtask(t *testing.T) {
	for _, hook := range lifecycleHooks {
		for _, op := range lifecycleTargets {
			for _, mode := range faultModes {
				t.Run(fmt.Sprintf("%s/%s/%s", hook.name, op, mode.name), func(t *testing.T) {
					opts := []RunnerOption{WithRestart(actors.FixedDelay(1, time.Millisecond))}
					if hook.point != operators.FaultClose {
						opts = append(opts, WithCheckpoints(5*time.Millisecond))
					}
					var faults *Faults
					res, _, _ := runLifecycle(t, func(f *Faults) {
						faults = f
						hook.place(f, op, append([]FaultOption{InEveryAttempt()}, mode.opts...)...)
					}, opts...)
					if res.State != actors.JobFailed {
						t.Fatalf("%v; want failed (faults %+v)", res, faults.Fired())
					}
					checkNamesFault(t, res.Err, hook.point, op)
				})
			}
		}
	}
}

// checkNamesFault checks that err is a *actors.SubtaskError naming
// operator op and the subtask of the injected fault it holds.
func checkNamesFault(t *testing.T, err error, point operators.FaultPoint, op string) {
	t.Helper()
	var se *actors.SubtaskError
	var fault *InjectedFault
	if !errors.As(err, &se) || !errors.As(err, &fault) {
		t.Fatalf("job error %v: want a SubtaskError holding an InjectedFault", err)
	}
	if fault.Point != point || fault.Operator != op || se.Subtask != fault.Subtask || !strings.Contains(se.Vertex, op) {
		t.Fatalf("job error %v names operator %q subtask %d; the fault was %v", err, se.Vertex, se.Subtask, fault)
	}
}
