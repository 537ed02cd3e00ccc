package actors

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// Every (state, event) pair of the job master: its next state, or
// refused (-1). The table is written out in full, not derived from
// masterTable, so that a change to the lifecycle changes this test too.
func TestMasterStep_everyStateAndEvent(t *testing.T) {
	const no = masterState(-1)
	//                         start            wired          commit            failover           stop            agentsGone          delayOver             commitSettled
	want := map[masterState][masterEvents]masterState{
		masterCreated:        {masterDeploying, no, no, no, masterStopping, no, no, no},
		masterDeploying:      {no, masterRunning, no, masterFailingOver, masterStopping, no, no, no},
		masterRunning:        {no, no, masterCommitting, masterFailingOver, masterStopping, no, no, no},
		masterCommitting:     {no, no, no, masterFailingOver, masterStopping, no, no, no},
		masterFailingOver:    {no, no, no, no, masterStopping, masterRestartDelay, no, no},
		masterStopping:       {no, no, no, no, masterStopping, masterEnded, no, no},
		masterRestartDelay:   {no, no, no, no, masterStopping, no, masterAwaitingCommit, no},
		masterAwaitingCommit: {no, no, no, no, masterStopping, no, no, masterDeploying},
		masterEnded:          {no, no, no, no, masterEnded, no, no, no},
	}
	if len(want) != int(masterStates) {
		t.Fatalf("the test covers %d states, the master has %d", len(want), masterStates)
	}
	for s := range masterStates {
		for e := range masterEvents {
			got, ok := masterStep(s, e)
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
	if _, ok := masterStep(masterStates, evStop); ok {
		t.Errorf("an unknown state took an event")
	}
}

// Only ended is final, and every state can be left by a stop: a cancel
// ends the job whatever it is doing.
func TestMasterStep_everyStateReachesEnded(t *testing.T) {
	for s := range masterStates {
		seen := map[masterState]bool{s: true}
		for frontier := []masterState{s}; len(frontier) > 0; {
			cur := frontier[0]
			frontier = frontier[1:]
			for e := range masterEvents {
				if next, ok := masterStep(cur, e); ok && !seen[next] {
					seen[next] = true
					frontier = append(frontier, next)
				}
			}
		}
		if !seen[masterEnded] {
			t.Errorf("%v never reaches ended", s)
		}
		if next, ok := masterStep(s, evStop); !ok || (next != masterStopping && next != masterEnded) {
			t.Errorf("%v on stop: %v, %v; want stopping (or ended once ended)", s, next, ok)
		}
	}
}

// A refused event is a bug of the master: it is logged as an error
// naming the state and the event, and changes nothing.
func TestMaster_to_refusedEventIsLoggedAndChangesNothing(t *testing.T) {
	var buf bytes.Buffer
	m := &master{log: slog.New(slog.NewTextHandler(&buf, nil)), state: masterRunning}
	if m.to(nil, evDelayOver) {
		t.Fatalf("running took %v", evDelayOver)
	}
	if m.state != masterRunning {
		t.Fatalf("state %v after a refused event, want running", m.state)
	}
	out := buf.String()
	for _, s := range []string{"level=ERROR", "state=running", `event="delay over"`} {
		if !strings.Contains(out, s) {
			t.Errorf("log %q lacks %q", out, s)
		}
	}
}

// A transition to the same state has no actions (a cancel while the job
// stops already, or once it ended).
func TestMaster_to_sameStateHasNoActions(t *testing.T) {
	var buf bytes.Buffer
	m := &master{log: slog.New(slog.NewTextHandler(&buf, nil)), state: masterEnded}
	if !m.to(nil, evStop) || m.state != masterEnded {
		t.Fatalf("ended on stop: state %v", m.state)
	}
	if buf.Len() != 0 {
		t.Fatalf("logged %q", buf.String())
	}
}
