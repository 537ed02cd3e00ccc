package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/troupe-dev/troupe/operators"
)

func TestFaultsFromEnv(t *testing.T) {
	tests := []struct {
		fault, slow string
		node        string
		want        string // the injector's type, or the error's text
	}{
		{"", "", "n1", "<nil>"},
		{"operator=count,record=3", "", "n1", "*main.onceFault"},
		{"", "operator=sink,delay=1ms,node=n2", "n2", "*main.slowOperator"},
		{"", "operator=sink,delay=1ms,node=n2", "n1", "<nil>"},
		{"operator=count,record=3", "operator=sink,delay=1ms", "n1", "main.injectors"},
		{"operator=count", "", "n1", "want operator=NAME,record=N"},
		{"", "operator=sink,delay=soon", "n1", "want operator=NAME,delay=D"},
		{"", "operator=sink,delay=-1ms", "n1", "want operator=NAME,delay=D"},
		{"", "operator=sink,delay=1ms,colour=red", "n1", `unknown key "colour"`},
		{"operator", "", "n1", `"operator" is not key=value`},
		{"", "operator=sink,delay=1ms,subtask=x", "n1", "want operator=NAME,delay=D"},
	}
	for _, tc := range tests {
		t.Setenv(faultEnv, tc.fault)
		t.Setenv(slowEnv, tc.slow)
		f, err := faultsFromEnv(tc.node)
		got := typeName(f)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s=%q %s=%q on %s: %s, want %s", faultEnv, tc.fault, slowEnv, tc.slow, tc.node, got, tc.want)
		}
	}
}

func typeName(f operators.FaultInjector) string {
	if f == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%T", f)
}

// A slow operator holds only its own operator's subtasks (of the index
// given), for the delay per record on average.
func TestSlowOperator_BeforeRecord(t *testing.T) {
	s := &slowOperator{operator: "sink", delay: 100 * time.Microsecond, subtask: 1, owed: map[int]time.Duration{}}
	for _, tc := range []struct {
		op   operators.TaskInfo
		slow bool
	}{
		{operators.TaskInfo{Operator: "sink", Subtask: 1}, true},
		{operators.TaskInfo{Operator: "sink", Subtask: 0}, false},
		{operators.TaskInfo{Operator: "count", Subtask: 1}, false},
	} {
		if got := s.matches(tc.op); got != tc.slow {
			t.Errorf("%+v: slowed %v, want %v", tc.op, got, tc.slow)
		}
	}
	const n = 100
	start := time.Now()
	for range n {
		s.BeforeRecord(operators.TaskInfo{Operator: "sink", Subtask: 1})
	}
	// At least what was owed, less the last sleep's worth still owed.
	if took, want := time.Since(start), n*s.delay-minSleep; took < want {
		t.Errorf("%d records of the slow operator took %v, want at least %v", n, took, want)
	}
}
