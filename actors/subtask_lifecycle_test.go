package actors

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// Every (state, event) pair of a subtask: its next state, or refused
// (-1). The table is written out in full, not derived from subtaskTable,
// so that a change to the lifecycle changes this test too.
func TestSubtaskStep_everyStateAndEvent(t *testing.T) {
	const no = subtaskState(-1)
	//               deploy      start       restoredEnded inputDone  ended       drained     fail        stop        stopped
	want := map[subtaskState][subtaskEvents]subtaskState{
		stCreated:  {stDeployed, no, no, no, no, no, stFailed, stStopping, no},
		stDeployed: {no, stRunning, stEnding, stEnding, no, no, stFailed, stStopping, no},
		stRunning:  {no, no, no, stEnding, no, no, stFailed, stStopping, no},
		stEnding:   {no, stEnding, no, no, stDraining, no, stFailed, stStopping, no},
		stDraining: {no, stDraining, no, no, no, stFinished, stFailed, stStopping, no},
		stFinished: {no, stFinished, no, no, no, no, stFailed, stStopping, no},
		stFailed:   {no, stFailed, no, no, no, no, stFailed, stStopping, no},
		stStopping: {no, stStopping, no, no, no, no, stStopping, no, stClosed},
		stClosed:   {no, no, no, no, no, no, stClosed, no, no},
	}
	if len(want) != int(subtaskStates) {
		t.Fatalf("the test covers %d states, the subtask has %d", len(want), subtaskStates)
	}
	for s := range subtaskStates {
		for e := range subtaskEvents {
			got, ok := subtaskStep(s, e)
			w := want[s][e]
			switch {
			case w == no && ok:
				t.Errorf("%v on %v: moved to %v, want refused", s, e, got)
			case w != no && !ok:
				t.Errorf("%v on %v: refused, want %v", s, e, w)
			case w != no && got != w:
				t.Errorf("%v on %v: moved to %v, want %v", s, e, got, w)
			}
		}
	}
	if _, ok := subtaskStep(subtaskStates, stEvStop); ok {
		t.Errorf("an unknown state took an event")
	}
}

// Every state reaches closed, and every state before stopping can be
// stopped: Proto.Actor may stop a subtask whatever it is doing. No state
// goes back: a subtask's lifecycle only moves forward (its states are
// ordered), so no flag combination of the old code can come back.
func TestSubtaskStep_forwardOnlyAndEveryStateCloses(t *testing.T) {
	for s := range subtaskStates {
		seen := map[subtaskState]bool{s: true}
		for frontier := []subtaskState{s}; len(frontier) > 0; {
			cur := frontier[0]
			frontier = frontier[1:]
			for e := range subtaskEvents {
				next, ok := subtaskStep(cur, e)
				if !ok {
					continue
				}
				if next < cur {
					t.Errorf("%v on %v goes back to %v", cur, e, next)
				}
				if !seen[next] {
					seen[next] = true
					frontier = append(frontier, next)
				}
			}
		}
		if !seen[stClosed] {
			t.Errorf("%v never reaches closed", s)
		}
		if s < stStopping {
			if next, ok := subtaskStep(s, stEvStop); !ok || next != stStopping {
				t.Errorf("%v on stop: %v, %v; want stopping", s, next, ok)
			}
		}
	}
}

// What each state allows: a test of the predicates the subtask asks
// instead of its old flags.
func TestSubtaskState_predicates(t *testing.T) {
	type row struct{ active, working, endedInput, eoiQueued, clockRuns bool }
	want := map[subtaskState]row{
		stCreated:  {},
		stDeployed: {active: true, working: true},
		stRunning:  {active: true, working: true, clockRuns: true},
		stEnding:   {active: true, working: true, endedInput: true, clockRuns: true},
		stDraining: {active: true, working: true, endedInput: true, eoiQueued: true},
		stFinished: {active: true, endedInput: true, eoiQueued: true},
		stFailed:   {},
		stStopping: {},
		stClosed:   {},
	}
	for s := range subtaskStates {
		got := row{s.active(), s.working(), s.endedInput(), s.eoiQueued(), s.clockRuns()}
		if got != want[s] {
			t.Errorf("%v: %+v, want %+v", s, got, want[s])
		}
	}
}

// A refused event is a bug of the subtask: it is logged as an error
// naming the state and the event, and changes nothing.
func TestSubtask_to_refusedEventIsLoggedAndChangesNothing(t *testing.T) {
	var buf bytes.Buffer
	s := &subtask{log: slog.New(slog.NewTextHandler(&buf, nil)), state: stRunning}
	if s.to(stEvDrained) {
		t.Fatalf("running took %v", stEvDrained)
	}
	if s.state != stRunning {
		t.Fatalf("state %v after a refused event, want running", s.state)
	}
	out := buf.String()
	for _, w := range []string{"level=ERROR", "state=running", "event=drained"} {
		if !strings.Contains(out, w) {
			t.Errorf("log %q lacks %q", out, w)
		}
	}
}

// A failure after the first reports nothing more, and keeps the first
// cause; so does a failure while the subtask stops.
func TestSubtask_fail_keepsTheFirstCause(t *testing.T) {
	var buf bytes.Buffer
	first, second := errString("first"), errString("second")
	s := &subtask{log: slog.New(slog.NewTextHandler(&buf, nil)), state: stFailed, err: first}
	s.fail(second) // no actions: a self-transition (no ctx is needed)
	if s.state != stFailed || s.err != first {
		t.Fatalf("state %v, err %v; want failed, %v", s.state, s.err, first)
	}
	s.state = stStopping
	s.fail(second)
	if s.state != stStopping || s.err != first {
		t.Fatalf("state %v, err %v; want stopping, %v", s.state, s.err, first)
	}
	if buf.Len() != 0 {
		t.Fatalf("logged %q", buf.String())
	}
}

type errString string

func (e errString) Error() string { return string(e) }
