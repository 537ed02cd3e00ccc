package testkit

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/troupe-dev/troupe/operators"
)

// task is the TaskInfo of subtask i of operator op in the runtime's
// attempt a of job "j".
func task(op string, i, a int) operators.TaskInfo {
	return operators.TaskInfo{Job: "j", Operator: op, Subtask: i, Parallelism: 2, Attempt: a}
}

// feedRecords calls BeforeRecord n times and returns the fault raised, if
// any, and at which call (1-based).
func feedRecords(f *Faults, info operators.TaskInfo, n int) (fault *InjectedFault, at int) {
	for i := 1; i <= n; i++ {
		if fault = catchFault(f, info); fault != nil {
			return fault, i
		}
	}
	return nil, 0
}

// catchFault calls BeforeRecord once and returns what it panicked with.
func catchFault(f *Faults, info operators.TaskInfo) (fault *InjectedFault) {
	defer func() {
		if r := recover(); r != nil {
			fault = r.(*InjectedFault)
		}
	}()
	f.BeforeRecord(info)
	return nil
}

func TestFaults_FailAt(t *testing.T) {
	tests := []struct {
		name   string
		opts   []FaultOption
		info   operators.TaskInfo
		wantAt int // 0: no fault within 10 records
	}{
		{"first record by default", nil, task("m", 0, 1), 1},
		{"at record", []FaultOption{AtRecord(4)}, task("m", 1, 1), 4},
		{"other operator", []FaultOption{AtRecord(4)}, task("other", 0, 1), 0},
		{"in subtask", []FaultOption{AtRecord(2), InSubtask(1)}, task("m", 1, 1), 2},
		{"not in other subtask", []FaultOption{AtRecord(2), InSubtask(1)}, task("m", 0, 1), 0},
		{"not in a later attempt", []FaultOption{InAttempt(1)}, task("m", 0, 1), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFaults()
			f.FailAt("m", tt.opts...)
			fault, at := feedRecords(f, tt.info, 10)
			if at != tt.wantAt {
				t.Fatalf("fault at record %d, want %d", at, tt.wantAt)
			}
			if fault == nil {
				if len(f.Fired()) != 0 {
					t.Fatalf("Fired() = %v, want none", f.Fired())
				}
				return
			}
			want := InjectedFault{Job: "j", Operator: "m", Subtask: tt.info.Subtask, Attempt: 0, Record: int64(at)}
			if *fault != want || !reflect.DeepEqual(f.Fired(), []InjectedFault{want}) {
				t.Fatalf("fault %+v, fired %+v, want %+v", *fault, f.Fired(), want)
			}
		})
	}
}

func TestFaults_attemptsCountFromTheJobsFirst(t *testing.T) {
	f := NewFaults()
	f.FailAt("m", AtRecord(2), InAttempt(1))
	// The runtime numbers its attempts from 5 here: 5 is attempt 0.
	if fault, _ := feedRecords(f, task("m", 0, 5), 10); fault != nil {
		t.Fatalf("fault in attempt 0: %v", fault)
	}
	fault, at := feedRecords(f, task("m", 0, 6), 10)
	if fault == nil || at != 2 || fault.Attempt != 1 {
		t.Fatalf("got %v at record %d, want a fault in attempt 1 at record 2", fault, at)
	}
}

func TestFaults_firesOncePerAttempt(t *testing.T) {
	f := NewFaults()
	f.FailAt("m", AtRecord(3), InEveryAttempt())
	for _, sub := range []int{0, 1} { // any subtask: the first to reach record 3
		fault, _ := feedRecords(f, task("m", sub, 1), 10)
		if (fault != nil) != (sub == 0) {
			t.Fatalf("subtask %d: fault %v", sub, fault)
		}
	}
	if fault, at := feedRecords(f, task("m", 1, 2), 10); fault == nil || at != 3 || fault.Attempt != 1 {
		t.Fatalf("attempt 1: got %v at %d, want a fault at record 3", fault, at)
	}
	if n := len(f.Fired()); n != 2 {
		t.Fatalf("fired %d faults, want 2: %v", n, f.Fired())
	}
}

func TestFaults_forgetJobStartsCountingAgain(t *testing.T) {
	f := NewFaults()
	f.FailAt("m", AtRecord(2))
	feedRecords(f, task("m", 0, 1), 5)
	f.forgetJob("j")
	if _, at := feedRecords(f, task("m", 0, 1), 5); at != 2 {
		t.Fatalf("fault at record %d after forgetJob, want 2", at)
	}
	if got := f.Records("j", "m", 0, 0); got != 2 {
		t.Fatalf("Records = %d, want 2", got)
	}
}

func TestFaults_concurrentSubtasks(t *testing.T) {
	f := NewFaults()
	f.FailAt("m", AtRecord(500), InSubtask(3))
	var wg sync.WaitGroup
	faults := make([]*InjectedFault, 8)
	for i := range faults {
		wg.Go(func() { faults[i], _ = feedRecords(f, task("m", i, 1), 1000) })
	}
	wg.Wait()
	for i, fault := range faults {
		if (fault != nil) != (i == 3) {
			t.Errorf("subtask %d: fault %v", i, fault)
		}
	}
	if got := f.Records("j", "m", 0, 0); got != 1000 {
		t.Errorf("subtask 0 saw %d records, want 1000", got)
	}
}

func TestFaults_FailAt_rejectsMistakes(t *testing.T) {
	for name, call := range map[string]func(f *Faults){
		"empty operator":   func(f *Faults) { f.FailAt("") },
		"record 0":         func(f *Faults) { f.FailAt("m", AtRecord(0)) },
		"negative subtask": func(f *Faults) { f.FailAt("m", InSubtask(-1)) },
		"negative attempt": func(f *Faults) { f.FailAt("m", InAttempt(-1)) },
		"record as error":  func(f *Faults) { f.FailAt("m", AsError()) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("FailAt did not panic")
				}
			}()
			call(NewFaults())
		})
	}
}

func TestInjectedFault_isAnError(t *testing.T) {
	var err error = &InjectedFault{Operator: "m", Subtask: 1, Attempt: 0, Record: 7}
	var fault *InjectedFault
	if !errors.As(err, &fault) || fault.Record != 7 {
		t.Fatalf("errors.As(%v) failed", err)
	}
	want := `testkit: injected fault in operator "m" subtask 1 attempt 0 at record 7`
	if err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
}

// hookFault calls At once and returns the fault it panicked with or
// returned, and whether it panicked.
func hookFault(f *Faults, point operators.FaultPoint, info operators.TaskInfo) (fault *InjectedFault, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			fault, panicked = r.(*InjectedFault), true
		}
	}()
	if err := f.At(point, info); err != nil {
		return err.(*InjectedFault), false
	}
	return nil, false
}

func TestFaults_lifecycleHooks(t *testing.T) {
	hooks := []struct {
		point operators.FaultPoint
		add   func(f *Faults, opts ...FaultOption)
	}{
		{operators.FaultOpen, func(f *Faults, o ...FaultOption) { f.FailAtOpen("m", o...) }},
		{operators.FaultSnapshot, func(f *Faults, o ...FaultOption) { f.FailAtSnapshot("m", o...) }},
		{operators.FaultRestore, func(f *Faults, o ...FaultOption) { f.FailAtRestore("m", append(o, InAttempt(0))...) }},
		{operators.FaultNotifyComplete, func(f *Faults, o ...FaultOption) { f.FailAtNotifyComplete("m", o...) }},
		{operators.FaultEndInput, func(f *Faults, o ...FaultOption) { f.FailAtEndInput("m", o...) }},
		{operators.FaultClose, func(f *Faults, o ...FaultOption) { f.FailAtClose("m", o...) }},
	}
	for _, h := range hooks {
		for _, asError := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/error=%v", h.point, asError), func(t *testing.T) {
				f := NewFaults()
				opts := []FaultOption{AtRecord(2)}
				if asError {
					opts = append(opts, AsError())
				}
				h.add(f, opts...)
				info := task("m", 1, 1)
				for _, other := range hooks { // the other hooks and records count apart
					if other.point != h.point {
						if fault, _ := hookFault(f, other.point, info); fault != nil {
							t.Fatalf("fault at %v: %v", other.point, fault)
						}
					}
				}
				if fault, _ := feedRecords(f, info, 3); fault != nil {
					t.Fatalf("fault at a record: %v", fault)
				}
				if fault, _ := hookFault(f, h.point, info); fault != nil {
					t.Fatalf("fault at the first call: %v", fault)
				}
				fault, panicked := hookFault(f, h.point, info)
				want := InjectedFault{Job: "j", Operator: "m", Subtask: 1, Record: 2, Point: h.point, AsError: asError}
				if fault == nil || *fault != want || panicked == asError {
					t.Fatalf("second call: fault %+v (panicked %v), want %+v", fault, panicked, want)
				}
				if got := fault.Error(); !strings.Contains(got, fmt.Sprintf("at %v 2", h.point)) {
					t.Fatalf("Error() = %q does not name the hook", got)
				}
			})
		}
	}
}

// AfterRecords places a hook's fault at a point of the input: the first
// snapshot once the subtask has handled 5 records, not the 5th snapshot.
func TestFaults_AfterRecords_placesAHookFaultInTheInput(t *testing.T) {
	f := NewFaults()
	f.FailAtSnapshot("m", AfterRecords(5), InSubtask(1))
	info, other := task("m", 1, 1), task("m", 0, 1)
	feedRecords(f, info, 4)
	feedRecords(f, other, 9) // another subtask's records do not count
	for range 3 {
		if fault, _ := hookFault(f, operators.FaultSnapshot, info); fault != nil {
			t.Fatalf("snapshot after 4 records: %v", fault)
		}
	}
	if fault, _ := hookFault(f, operators.FaultSnapshot, other); fault != nil {
		t.Fatalf("snapshot of subtask 0: %v", fault)
	}
	if fault, _ := feedRecords(f, info, 2); fault != nil {
		t.Fatalf("a record raised %v", fault)
	}
	fault, panicked := hookFault(f, operators.FaultSnapshot, info)
	want := InjectedFault{Job: "j", Operator: "m", Subtask: 1, Record: 4, Point: operators.FaultSnapshot}
	if fault == nil || *fault != want || !panicked {
		t.Fatalf("snapshot after 6 records: fault %+v (panicked %v), want %+v", fault, panicked, want)
	}
	if fault, _ := hookFault(f, operators.FaultSnapshot, info); fault != nil {
		t.Fatalf("fired twice in one attempt: %v", fault)
	}
}

func TestFaults_AfterRecords_rejectsMistakes(t *testing.T) {
	for name, call := range map[string]func(f *Faults){
		"zero records":     func(f *Faults) { f.FailAtSnapshot("m", AfterRecords(0)) },
		"with AtRecord":    func(f *Faults) { f.FailAtSnapshot("m", AtRecord(2), AfterRecords(3)) },
		"on a record rule": func(f *Faults) { f.FailAt("m", AfterRecords(3)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			call(NewFaults())
		})
	}
}

// When holds a fault back until its condition holds, at or after its
// record, and asks the condition only of the rule's own operator.
func TestFaults_When_waitsForItsCondition(t *testing.T) {
	f := NewFaults()
	asked, ready := 0, false
	f.FailAt("m", AtRecord(3), When(func() bool { asked++; return ready }))
	if fault, _ := feedRecords(f, task("other", 0, 1), 10); fault != nil || asked != 0 {
		t.Fatalf("other operator: fault %v, condition asked %d times", fault, asked)
	}
	if fault, _ := feedRecords(f, task("m", 0, 1), 5); fault != nil {
		t.Fatalf("fault %v before the condition held", fault)
	}
	if asked != 3 { // records 3, 4 and 5
		t.Fatalf("condition asked %d times, want 3 (from record 3 on)", asked)
	}
	ready = true
	fault, at := feedRecords(f, task("m", 0, 1), 5)
	if fault == nil || at != 1 || fault.Record != 6 {
		t.Fatalf("got %v at call %d, want the fault at record 6, the first once the condition held", fault, at)
	}
}
