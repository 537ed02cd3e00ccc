package testkit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/troupe-dev/troupe/operators"
)

// Faults makes operators of running jobs fail on purpose: it implements
// operators.FaultInjector, which the runtime calls on each subtask's
// goroutine before every record of every operator (for a source, before
// every record it emits). A Runner installs one in its engine; a test that
// builds its own engine can set actors.Config.Faults to one.
//
// A fault is a panic whose value is an *InjectedFault, raised at a chosen
// record of a chosen operator, subtask and attempt. The runtime treats it
// as any operator panic: the subtask fails and the job's restart strategy
// decides what follows. Fired lists the faults raised, so that a test can
// check that the failure it meant to cause really happened.
//
// Faults is safe for concurrent use: many subtasks call BeforeRecord at
// once. Its rules are meant to be set before the job starts.
//
// # Attempts
//
// Attempts are counted from the job's first deployment, which is attempt
// 0, whatever number the runtime gives it: Faults takes the lowest
// TaskInfo.Attempt it has seen for a job name as that job's attempt 0. No
// subtask of a later attempt runs before every subtask of the earlier one
// has stopped, so the first attempt that handles a record is seen first.
// Record counts are kept per job name, operator, subtask and attempt;
// Runner.Run forgets a job's counts before submitting it again. Used
// without a Runner, give each job its own Faults.
//
// # Lifecycle hooks
//
// FailAtOpen, FailAtSnapshot, FailAtRestore, FailAtNotifyComplete,
// FailAtEndInput, FailAtClose and FailAtFinalCommit (a sink about to
// commit the output of a finished job) place faults in an operator's lifecycle
// hooks (Faults also implements operators.PointFaultInjector, whose
// FaultPoints say exactly where); they share the options, the attempt
// counting and the Fired record with FailAt, and AtRecord(n) counts the
// hook's calls instead of records; AfterRecords(n) instead fires at the
// hook's first call once the subtask has handled n records. A hook's fault is a panic too, unless
// AsError makes the hook return it as its error. A restore happens only in
// an attempt after a failure, so FailAtRestore defaults to attempt 1.
type Faults struct {
	mu    sync.Mutex
	rules []faultRule
	jobs  map[string]*jobFaults
	fired []InjectedFault
	known map[string]int // operators of the graphs checked (Check): their highest parallelism
}

// faultRule is one FailAt call. Subtask or attempt anyIndex match any.
type faultRule struct {
	point    operators.FaultPoint // 0: records
	operator string
	record   int64
	atSet    bool  // AtRecord was given
	after    int64 // AfterRecords: 0, or the records to wait for
	subtask  int
	attempt  int
	asError  bool        // returned by the hook, not panicked
	when     func() bool // When: nil, or what must hold as well
	mistake  string      // set by an option given a bad value
}

// anyIndex in a rule matches every subtask or attempt.
const anyIndex = -1

// jobFaults is what Faults counts for one job name.
type jobFaults struct {
	first  int                  // the runtime's number of attempt 0
	counts map[taskKey]int64    // records seen
	fired  map[ruleAttempt]bool // a rule fires at most once per attempt
}

type taskKey struct {
	point    operators.FaultPoint // 0: records
	operator string
	subtask  int
	attempt  int
}

type ruleAttempt struct{ rule, attempt int }

// InjectedFault is the panic value of a fault raised by Faults, and the
// error a failed job's error chain holds (find it with errors.As).
type InjectedFault struct {
	Job      string
	Operator string // as in operators.TaskInfo.Operator
	Subtask  int    // 0-based
	Attempt  int    // 0 for the job's first deployment
	Record   int64  // 1-based count of the records (or calls of the hook) the subtask's operator saw in this attempt
	// Point is 0 for a fault at a record, else the lifecycle hook.
	Point operators.FaultPoint
	// AsError: the hook returned the fault as its error (AsError) rather
	// than panicking with it.
	AsError bool
}

// Error names where the fault was raised.
func (f *InjectedFault) Error() string {
	at := "record"
	if f.Point != 0 {
		at = f.Point.String()
	}
	return fmt.Sprintf("testkit: injected fault in operator %q subtask %d attempt %d at %s %d",
		f.Operator, f.Subtask, f.Attempt, at, f.Record)
}

// FaultOption narrows where FailAt raises its fault.
type FaultOption func(*faultRule)

// AtRecord raises the fault before the n-th record (n ≥ 1) the operator's
// subtask handles in the attempt. Default 1. In a chain that hands records
// on in runs (the batch path, docs/architecture.md) the fault comes before
// the run that holds the n-th record reaches the operator, so the records
// of that run before it are not handled either: as in production, where a
// failure can end a run anywhere.
func AtRecord(n int64) FaultOption {
	return func(r *faultRule) {
		r.record, r.atSet = n, true
		if n < 1 {
			r.mistake = fmt.Sprintf("record %d must be at least 1", n)
		}
	}
}

// AfterRecords raises a lifecycle hook's fault at the first call of the
// hook once the operator's subtask has handled at least n records (n ≥ 1)
// in the attempt, instead of at its AtRecord-th call: a snapshot that
// fails at a chosen point of the input, say. It is a mistake with FailAt
// (use AtRecord) and together with AtRecord.
func AfterRecords(n int64) FaultOption {
	return func(r *faultRule) {
		r.after = n
		if n < 1 {
			r.mistake = fmt.Sprintf("after %d records: must be at least 1", n)
		}
	}
}

// InSubtask raises the fault only in subtask i (0-based). Default: in
// whichever subtask of the operator reaches the record first.
func InSubtask(i int) FaultOption {
	return func(r *faultRule) {
		r.subtask = i
		if i < 0 {
			r.mistake = fmt.Sprintf("subtask %d must not be negative", i)
		}
	}
}

// InAttempt raises the fault only in attempt a (0 is the job's first
// deployment). Default 0, so that a restarted job runs through.
func InAttempt(a int) FaultOption {
	return func(r *faultRule) {
		r.attempt = a
		if a < 0 {
			r.mistake = fmt.Sprintf("attempt %d must not be negative", a)
		}
	}
}

// InEveryAttempt raises the fault in every attempt, so that the job fails
// once its restart strategy gives up.
func InEveryAttempt() FaultOption { return func(r *faultRule) { r.attempt = anyIndex } }

// When makes the fault wait for cond as well: it is raised at the first
// record at or after AtRecord's (or the first hook call at or after
// AfterRecords') at which cond reports true — once a checkpoint has
// completed, say, so that a test of a restore cannot fail over before
// there is anything to restore, however slowly the machine runs. cond is
// called on the subtask's goroutine with the Faults locked: it must be
// quick and must not call the Faults.
func When(cond func() bool) FaultOption { return func(r *faultRule) { r.when = cond } }

// AsError makes a lifecycle hook's fault an error that the hook returns,
// as an operator's failing hook does, rather than a panic. It is a mistake
// with FailAt: a record's fault can only be a panic.
func AsError() FaultOption { return func(r *faultRule) { r.asError = true } }

// NewFaults returns a Faults without rules: it counts records and raises
// nothing until FailAt is called.
func NewFaults() *Faults { return &Faults{jobs: make(map[string]*jobFaults)} }

// FailAt makes the named operator (its name as in operators.TaskInfo,
// set with Name on the stream) panic with an *InjectedFault at its first
// record, or where the options say. Each rule fires at most once per
// attempt of a job. FailAt panics on a record below 1, a negative subtask
// or attempt, or an empty operator name: those are mistakes in the test.
// A name that no job started has is one too: the Runner fails the test
// when it starts a job without the operator (see Check).
func (f *Faults) FailAt(operator string, opts ...FaultOption) { f.add(0, operator, opts) }

// FailAtSnapshot makes the named operator panic with an *InjectedFault as
// it is about to snapshot its state: at its first snapshot in the attempt,
// or its n-th with AtRecord(n).
func (f *Faults) FailAtSnapshot(operator string, opts ...FaultOption) {
	f.add(operators.FaultSnapshot, operator, opts)
}

// FailAtRestore makes the named operator panic with an *InjectedFault as
// it is about to restore its state after a failure (by default in attempt
// 1, the first one that restores).
func (f *Faults) FailAtRestore(operator string, opts ...FaultOption) {
	f.add(operators.FaultRestore, operator, append([]FaultOption{InAttempt(1)}, opts...))
}

// FailAtFinalCommit makes the named operator panic with an *InjectedFault
// as it is about to commit what it still holds when the whole job has
// finished (operators.EndOfJob): after the job's final checkpoint
// completed, before a two-phase-commit sink's final commit, as a crash
// there would. The restart restores that final checkpoint.
func (f *Faults) FailAtFinalCommit(operator string, opts ...FaultOption) {
	f.add(operators.FaultFinalCommit, operator, opts)
}

// FailAtOpen makes the named operator panic with an *InjectedFault as it
// is about to be opened.
func (f *Faults) FailAtOpen(operator string, opts ...FaultOption) {
	f.add(operators.FaultOpen, operator, opts)
}

// FailAtNotifyComplete makes the named operator panic with an
// *InjectedFault as it is about to be told that a checkpoint is complete
// (the job's final commit too): at the first notice in the attempt, or
// its n-th with AtRecord(n).
func (f *Faults) FailAtNotifyComplete(operator string, opts ...FaultOption) {
	f.add(operators.FaultNotifyComplete, operator, opts)
}

// FailAtEndInput makes the named operator panic with an *InjectedFault as
// it is about to be ended, once its input has.
func (f *Faults) FailAtEndInput(operator string, opts ...FaultOption) {
	f.add(operators.FaultEndInput, operator, opts)
}

// FailAtClose makes the named operator panic with an *InjectedFault as its
// Close returns, once it has released what it holds. Close is called when
// the subtask finishes or is stopped (for a restart, a cancel, or, with
// checkpoints, at the end of the job).
func (f *Faults) FailAtClose(operator string, opts ...FaultOption) {
	f.add(operators.FaultClose, operator, opts)
}

func (f *Faults) add(point operators.FaultPoint, operator string, opts []FaultOption) {
	r := faultRule{point: point, operator: operator, record: 1, subtask: anyIndex, attempt: 0}
	for _, opt := range opts {
		opt(&r)
	}
	if operator == "" {
		r.mistake = "empty operator name"
	}
	switch {
	case point == 0 && r.asError:
		r.mistake = "a record's fault cannot be an error (AsError)"
	case point == 0 && r.after > 0:
		r.mistake = "a record's fault is placed with AtRecord, not AfterRecords"
	case r.after > 0 && r.atSet:
		r.mistake = "AtRecord and AfterRecords together"
	}
	if r.mistake != "" {
		panic(fmt.Sprintf("testkit: FailAt(%q): %s", operator, r.mistake))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, r)
}

// BeforeRecord counts the record and panics with an *InjectedFault if a
// rule says so. The runtime calls it on the subtask's goroutine.
func (f *Faults) BeforeRecord(op operators.TaskInfo) {
	if fault := f.count(0, op); fault != nil {
		panic(fault)
	}
}

// At counts a call of a lifecycle hook and, if a rule says so, panics with
// an *InjectedFault or returns it (operators.PointFaultInjector).
func (f *Faults) At(point operators.FaultPoint, op operators.TaskInfo) error {
	fault := f.count(point, op)
	switch {
	case fault == nil:
		return nil
	case fault.AsError:
		return fault
	}
	panic(fault)
}

// count records one record and returns the fault to raise, if any. It does
// not panic itself, so that the lock is released first.
func (f *Faults) count(point operators.FaultPoint, op operators.TaskInfo) *InjectedFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.job(op.Job, op.Attempt)
	attempt := op.Attempt - j.first
	k := taskKey{point: point, operator: op.Operator, subtask: op.Subtask, attempt: attempt}
	j.counts[k]++
	n := j.counts[k]
	records := j.counts[taskKey{operator: op.Operator, subtask: op.Subtask, attempt: attempt}]
	for i, r := range f.rules {
		fired := ruleAttempt{rule: i, attempt: attempt}
		if !r.matches(k, n, records) || j.fired[fired] {
			continue
		}
		j.fired[fired] = true
		fault := InjectedFault{Job: op.Job, Operator: op.Operator, Subtask: op.Subtask, Attempt: attempt, Record: n, Point: point, AsError: r.asError}
		f.fired = append(f.fired, fault)
		return &fault
	}
	return nil
}

// job returns the counts of the named job, created with attempt as its
// attempt 0 at the job's first record.
func (f *Faults) job(name string, attempt int) *jobFaults {
	j := f.jobs[name]
	if j == nil {
		j = &jobFaults{first: attempt, counts: make(map[taskKey]int64), fired: make(map[ruleAttempt]bool)}
		f.jobs[name] = j
	}
	return j
}

// matches reports whether the rule fires at the n-th call of k's hook (or
// record), its subtask having handled records records in the attempt.
func (r faultRule) matches(k taskKey, n, records int64) bool {
	if r.point != k.point || r.operator != k.operator ||
		(r.subtask != anyIndex && r.subtask != k.subtask) ||
		(r.attempt != anyIndex && r.attempt != k.attempt) {
		return false
	}
	switch {
	case r.after > 0:
		return records >= r.after && (r.when == nil || r.when())
	case r.when != nil:
		return n >= r.record && r.when()
	}
	return r.record == n
}

// Fired returns the faults raised so far, in the order they were raised.
func (f *Faults) Fired() []InjectedFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]InjectedFault(nil), f.fired...)
}

// Records returns how many records the operator's subtask handled in the
// attempt of the named job (for checking where a fault can be placed).
func (f *Faults) Records(job, operator string, subtask, attempt int) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[job]
	if j == nil {
		return 0
	}
	return j.counts[taskKey{point: 0, operator: operator, subtask: subtask, attempt: attempt}]
}

// Check reports, as an error, the rules that name an operator which
// neither g nor a graph checked before has, or a subtask beyond its
// parallelism there: a typo, or a name or subtask that a change of the
// pipeline took away, would otherwise never fire. The
// Runner calls it for every job it starts, failing the test; tests that
// set Faults on an engine of their own call it before submitting.
func (f *Faults) Check(g *operators.JobGraph) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.known == nil {
		f.known = map[string]int{}
	}
	var here []string
	for _, v := range g.Vertices {
		for _, name := range v.Operators() {
			f.known[name] = max(f.known[name], v.Parallelism)
			here = append(here, strconv.Quote(name))
		}
	}
	var errs []error
	for _, r := range f.rules {
		par, ok := f.known[r.operator]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("testkit: %s fault for operator %q: the job %q has no operator of that name (it has %s)",
				r.describe(), r.operator, g.Name, strings.Join(here, ", ")))
		case r.subtask != anyIndex && r.subtask >= par:
			errs = append(errs, fmt.Errorf("testkit: %s fault for operator %q in subtask %d: the operator has parallelism %d (subtasks 0 to %d) in job %q",
				r.describe(), r.operator, r.subtask, par, par-1, g.Name))
		}
	}
	return errors.Join(errs...)
}

// describe names the kind of fault a rule raises.
func (r faultRule) describe() string {
	if r.point == 0 {
		return "record"
	}
	return r.point.String()
}

// forgetJob drops the counts of the named job, so that a job submitted
// again under the same name starts again from attempt 0 and record 1. The
// rules and the faults fired stay.
func (f *Faults) forgetJob(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.jobs, name)
}
