package operators

import (
	"log/slog"
	"testing"

	"github.com/troupe-dev/troupe/persistence"
)

// encodedState is one subtask's snapshot as storage holds it.
type encodedState struct {
	subtask int
	data    []byte
}

// snapshot takes the subtask's state for checkpoint id through its
// encoding, as the runtime does.
func (s *testSubtask) snapshot(id int64) encodedState {
	s.t.Helper()
	st, err := s.chain.Snapshot(id)
	if err != nil {
		s.t.Fatalf("snapshot %d: %v", id, err)
	}
	b, err := st.MarshalBinary()
	if err != nil {
		s.t.Fatalf("encode snapshot %d: %v", id, err)
	}
	return encodedState{subtask: s.chain.info.Subtask, data: b}
}

// restoreParts deals the named operators' states of snaps (one per old
// subtask, in subtask order) out to subtask i of par, as the runtime does:
// lists in place at the same parallelism, else their entries round robin;
// union lists to all.
func restoreParts(t testing.TB, snaps []encodedState, i, par int, names ...string) map[string][]*OperatorState {
	t.Helper()
	lists := map[string][]*persistence.OperatorSnapshot{} // by old subtask
	for j, s := range snaps {
		st, err := UnmarshalSubtaskState(s.data)
		if err != nil {
			t.Fatalf("decode snapshot of subtask %d: %v", s.subtask, err)
		}
		for _, name := range names {
			if os := st[name]; os != nil && os.Operator != nil {
				if lists[name] == nil {
					lists[name] = make([]*persistence.OperatorSnapshot, len(snaps))
				}
				lists[name][j] = os.Operator
			}
		}
	}
	parts := map[string][]*OperatorState{}
	for name, ops := range lists {
		parts[name] = []*OperatorState{{Operator: persistence.Redistribute(ops, par)[i]}}
	}
	return parts
}

// openStateful opens subtask i of v with checkpointing on and the given
// restored state; the chain is closed on cleanup unless the test closes
// it or leaves it as a crash would (crashed).
func openStateful(t testing.TB, v *Vertex, i int, restore map[string][]*OperatorState) (*testSubtask, error) {
	t.Helper()
	return openStatefulLogged(t, v, i, restore, nil)
}

// openStatefulLogged is openStateful with the subtask's logger (nil: the
// default).
func openStatefulLogged(t testing.TB, v *Vertex, i int, restore map[string][]*OperatorState, log *slog.Logger) (*testSubtask, error) {
	t.Helper()
	return openStatefulConfig(t, v, ChainConfig{Subtask: i, Restore: restore, Logger: log})
}

// openStatefulRun is openStateful as a subtask of job run run.
func openStatefulRun(t testing.TB, v *Vertex, i int, restore map[string][]*OperatorState, run string) (*testSubtask, error) {
	t.Helper()
	return openStatefulConfig(t, v, ChainConfig{Run: run, Subtask: i, Restore: restore})
}

// openStatefulConfig opens v with cfg's Run, Subtask, Restore, Logger
// and Host, checkpointing on.
func openStatefulConfig(t testing.TB, v *Vertex, cfg ChainConfig) (*testSubtask, error) {
	t.Helper()
	s := &testSubtask{t: t, wake: make(chan struct{}, 1)}
	c, err := v.Open(ChainConfig{Job: "test", Run: cfg.Run, Subtask: cfg.Subtask, BatchSize: 16, Ship: &s.ship,
		Wake: s.onWake, Checkpointing: true, Restore: cfg.Restore, Logger: cfg.Logger, Host: cfg.Host})
	if err != nil {
		return nil, err
	}
	s.chain = c
	t.Cleanup(func() { _ = c.Close() })
	return s, nil
}

// pollTimes polls the source n times, or until it ends; it reports
// whether it ended.
func (s *testSubtask) pollTimes(n int) bool {
	s.t.Helper()
	for range n {
		st, err := s.poll()
		if err != nil {
			s.t.Fatalf("poll: %v", err)
		}
		if st == PollDone {
			return true
		}
	}
	return false
}
